//! Field paths such as `spec.promotionTemplate.spec.steps[2].config.path`.

use std::fmt;

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Field(String),
    Index(usize),
}

/// A path into a document. Displays as `a.b[2].c`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The path of a top-level field.
    pub fn root(field: &str) -> Self {
        FieldPath(vec![Segment::Field(field.to_owned())])
    }

    /// Parses the display form back; a field name is whatever stands between `.` and `[`.
    pub fn parse(text: &str) -> Self {
        let mut segments = Vec::new();
        for part in text.split('.').filter(|p| !p.is_empty()) {
            let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
            if !name.is_empty() {
                segments.push(Segment::Field(name.to_owned()));
            }
            while let Some((index, after)) = rest.split_once(']') {
                match index.parse() {
                    Ok(i) => segments.push(Segment::Index(i)),
                    Err(_) => segments.push(Segment::Field(index.to_owned())),
                }
                rest = after.strip_prefix('[').unwrap_or(after);
            }
        }
        FieldPath(segments)
    }

    /// This path extended by a field.
    pub fn child(&self, field: &str) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Field(field.to_owned()));
        next
    }

    /// This path extended by a list index.
    pub fn index(&self, i: usize) -> Self {
        let mut next = self.clone();
        next.0.push(Segment::Index(i));
        next
    }

    /// Drops the last segment; false when already empty.
    pub fn pop(&mut self) -> bool {
        self.0.pop().is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Field(name) if i == 0 => write!(f, "{name}")?,
                Segment::Field(name) => write!(f, ".{name}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl From<&str> for FieldPath {
    fn from(text: &str) -> Self {
        FieldPath::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse_round_trip() {
        let p = FieldPath::root("spec").child("steps").index(2).child("config").child("path");
        assert_eq!(p.to_string(), "spec.steps[2].config.path");
        assert_eq!(FieldPath::parse("spec.steps[2].config.path"), p);
        assert_eq!(FieldPath::parse("a[0][1]").segments().len(), 3);
    }
}
