//! Shorthand constraints equal the expansions the Masterminds semver documentation gives for
//! them, on arbitrary versions.

use convoy_core::constraint::parse;
use convoy_expr::semver::Version;
use proptest::prelude::*;

fn version() -> impl Strategy<Value = Version> {
    (0u64..4, 0u64..4, 0u64..4, prop::option::of("(alpha|beta|rc)(\\.[0-9])?")).prop_map(|(a, b, c, pre)| {
        let text = match pre {
            Some(pre) => format!("{a}.{b}.{c}-{pre}"),
            None => format!("{a}.{b}.{c}"),
        };
        Version::parse(&text).unwrap()
    })
}

proptest! {
    #[test]
    fn shorthands_equal_their_documented_expansions(v in version(), a in 0u64..4, b in 0u64..4, c in 0u64..4) {
        let pairs = [
            (format!("~{a}.{b}.{c}"), format!(">= {a}.{b}.{c}, < {a}.{}.0", b + 1)),
            (format!("~{a}.{b}"), format!(">= {a}.{b}, < {a}.{}", b + 1)),
            (format!("{a}.{b}.x"), format!(">= {a}.{b}.0, < {a}.{}.0", b + 1)),
            (format!("{a}.{b} - {c}.{b}.{a}"), format!(">= {a}.{b} <= {c}.{b}.{a}")),
            (format!("<= {a}.x"), format!("< {}", a + 1)),
            (format!("^{}.{b}.{c}", a + 1), format!(">= {}.{b}.{c}, < {}.0.0", a + 1, a + 2)),
            (format!("^0.{}.{c}", b + 1), format!(">=0.{}.{c} <0.{}.0", b + 1, b + 2)),
        ];
        for (short, long) in pairs {
            let (s, l) = (parse(&short).unwrap(), parse(&long).unwrap());
            prop_assert_eq!(s.matches(&v), l.matches(&v), "{} vs {} on {}", short, long, v);
        }
    }
}
