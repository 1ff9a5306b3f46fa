//! What an expression refers to, for lint: `vars.x`, `outputs.y`, `task.outputs.z`.

/// A name read through `vars`, `outputs` or `task.outputs`, with its byte offset in the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub root: Root,
    pub name: String,
    pub offset: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    Vars,
    Outputs,
    TaskOutputs,
}

/// Every `vars.NAME`, `vars["NAME"]`, `outputs.NAME`, `task.outputs.NAME` (also with `?.`) in
/// `code`, skipping string literals and member accesses such as `x.vars`.
pub fn references(code: &str) -> Vec<Reference> {
    let chars: Vec<char> = code.chars().collect();
    let byte_at = |i: usize| chars[..i].iter().map(|c| c.len_utf8()).sum::<usize>();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            i = crate::rewrite::string_end(&chars, i);
            continue;
        }
        if !(c.is_alphabetic() || c == '_' || c == '$') {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let preceded_by_dot = start > 0 && chars[start - 1] == '.';
        if preceded_by_dot {
            continue;
        }
        let (root, after_root) = match word.as_str() {
            "vars" => (Root::Vars, i),
            "outputs" => (Root::Outputs, i),
            "task" => match member(&chars, i) {
                Some((name, end)) if name == "outputs" => (Root::TaskOutputs, end),
                _ => continue,
            },
            _ => continue,
        };
        if let Some((name, end)) = member(&chars, after_root) {
            found.push(Reference { root, name, offset: byte_at(start) });
            i = end;
        }
    }
    found
}

/// `.name`, `?.name`, `['name']` or `["name"]` at `i`.
fn member(chars: &[char], i: usize) -> Option<(String, usize)> {
    let mut i = i;
    if chars.get(i) == Some(&'?') {
        i += 1;
    }
    match chars.get(i) {
        Some('.') => {
            let start = i + 1;
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            (end > start).then(|| (chars[start..end].iter().collect(), end))
        }
        Some('[') => {
            let quote = *chars.get(i + 1)?;
            if quote != '"' && quote != '\'' {
                return None;
            }
            let end = crate::rewrite::string_end(chars, i + 1);
            let name: String = chars[i + 2..end.saturating_sub(1)].iter().collect();
            (chars.get(end) == Some(&']')).then_some((name, end + 1))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references() {
        let refs =
            references("vars.image + outputs['update-image'].commit + task.outputs.commit.id + x.vars.no + 'vars.no'");
        let names: Vec<(Root, &str)> = refs.iter().map(|r| (r.root, r.name.as_str())).collect();
        assert_eq!(names, [(Root::Vars, "image"), (Root::Outputs, "update-image"), (Root::TaskOutputs, "commit")]);
        assert_eq!(references("vars?.x ?? vars[\"y\"]").len(), 2);
    }
}
