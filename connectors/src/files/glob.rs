//! Glob patterns in file paths: `*` and `?` stay within one folder, `**` crosses folders,
//! `[abc]` is a class. Only what is needed to pick files; no brace expansion.

/// Whether a path has glob characters.
pub fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The folder to list for a pattern: everything before the first segment with a glob.
pub fn base(pattern: &str) -> &str {
    let first = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    match pattern[..first].rfind('/') {
        Some(i) => &pattern[..i],
        None => "",
    }
}

/// Whether the pattern can match below its base folder's direct children.
pub fn recursive(pattern: &str) -> bool {
    pattern[base(pattern).len()..]
        .trim_start_matches('/')
        .contains('/')
        || pattern.contains("**")
}

pub fn matches(pattern: &str, path: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    if p.len() > 256 || s.len() > 1024 {
        return false;
    }
    // Memoised on (pattern index, path index): linear in their product, whatever the stars.
    let mut memo = vec![None; (p.len() + 1) * (s.len() + 1)];
    go(&p, &s, 0, 0, &mut memo)
}

fn go(p: &[char], s: &[char], pi: usize, si: usize, memo: &mut [Option<bool>]) -> bool {
    let key = pi * (s.len() + 1) + si;
    if let Some(v) = memo[key] {
        return v;
    }
    let rest = &s[si..];
    let v = match p.get(pi) {
        None => rest.is_empty(),
        Some('*') if p.get(pi + 1) == Some(&'*') => {
            let after = if p.get(pi + 2) == Some(&'/') {
                pi + 3
            } else {
                pi + 2
            };
            (si..=s.len()).any(|i| (i == si || s[i - 1] == '/') && go(p, s, after, i, memo))
                || (si..=s.len()).any(|i| go(p, s, pi + 2, i, memo))
        }
        Some('*') => (si..=s.len())
            .take_while(|&i| i == si || s[i - 1] != '/')
            .any(|i| go(p, s, pi + 1, i, memo)),
        Some('?') => !rest.is_empty() && rest[0] != '/' && go(p, s, pi + 1, si + 1, memo),
        Some('[') => match p[pi..].iter().position(|&c| c == ']') {
            Some(end) if end > 1 && !rest.is_empty() => {
                let (negate, class) = match p[pi + 1] {
                    '!' | '^' => (true, &p[pi + 2..pi + end]),
                    _ => (false, &p[pi + 1..pi + end]),
                };
                let mut hit = false;
                let mut i = 0;
                while i < class.len() {
                    if i + 2 < class.len() && class[i + 1] == '-' {
                        hit |= (class[i]..=class[i + 2]).contains(&rest[0]);
                        i += 3;
                    } else {
                        hit |= class[i] == rest[0];
                        i += 1;
                    }
                }
                hit != negate && go(p, s, pi + end + 1, si + 1, memo)
            }
            _ => !rest.is_empty() && rest[0] == '[' && go(p, s, pi + 1, si + 1, memo),
        },
        Some(&c) => !rest.is_empty() && rest[0] == c && go(p, s, pi + 1, si + 1, memo),
    };
    memo[key] = Some(v);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("data/*.csv", "data/orders.csv"));
        assert!(!matches("data/*.csv", "data/2024/orders.csv"));
        assert!(matches("data/**/*.csv", "data/2024/01/orders.csv"));
        assert!(matches("data/**/*.csv", "data/orders.csv"));
        assert!(matches("orders_2024-0?.csv", "orders_2024-02.csv"));
        assert!(matches("orders_[0-9]*.csv", "orders_7.csv"));
        assert!(!matches("orders_[!0-9]*.csv", "orders_7.csv"));
        assert_eq!(base("data/2024/*.csv"), "data/2024");
        assert_eq!(base("*.csv"), "");
        assert!(!recursive("data/*.csv"));
        assert!(recursive("data/*/x.csv"));
        assert!(recursive("data/**/x.csv"));
        let hostile = "*a".repeat(100);
        assert!(!matches(&hostile, &format!("{}b", "a".repeat(999))));
    }
}
