//! The `WWW-Authenticate: Bearer …` challenge of an MCP endpoint (RFC 6750, RFC 9728):
//! where its protected-resource metadata is, the scope it wants, and the error.

#[derive(Default, Debug, Clone)]
pub struct Challenge {
    pub resource_metadata: Option<String>,
    pub scope: Option<String>,
    pub error: Option<String>,
}

impl Challenge {
    pub fn from_headers(headers: &reqwest::header::HeaderMap) -> Challenge {
        headers
            .get_all(reqwest::header::WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(parse_bearer)
            .unwrap_or_default()
    }

    pub fn insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// The parameters of a `Bearer` challenge: `k=v` or `k="v with \" escapes"`, comma separated.
fn parse_bearer(value: &str) -> Option<Challenge> {
    let rest = value.trim_start();
    let (scheme, mut rest) = rest.split_at(rest.find(' ').unwrap_or(rest.len()));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut c = Challenge::default();
    loop {
        rest = rest.trim_start_matches([' ', ',', '\t']);
        let Some(eq) = rest.find('=') else { break };
        let key = rest[..eq].trim().to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value = if let Some(q) = rest.strip_prefix('"') {
            let mut v = String::new();
            let mut chars = q.char_indices();
            let mut end = q.len();
            while let Some((i, ch)) = chars.next() {
                match ch {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            v.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => v.push(ch),
                }
            }
            rest = &q[end.min(q.len())..];
            v
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let v = rest[..end].trim().to_string();
            rest = &rest[end..];
            v
        };
        match key.as_str() {
            "resource_metadata" => c.resource_metadata = Some(value),
            "scope" => c.scope = Some(value).filter(|s| !s.trim().is_empty()),
            "error" => c.error = Some(value),
            _ => {}
        }
    }
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_bare_parameters_in_any_order() {
        let c = parse_bearer(
            r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="http://h/.well-known/x?a=\"b\"", error_description="never, ever""#,
        )
        .unwrap();
        assert_eq!(c.error.as_deref(), Some("insufficient_scope"));
        assert_eq!(c.scope.as_deref(), Some("mcp:basic mcp:write"));
        assert_eq!(
            c.resource_metadata.as_deref(),
            Some("http://h/.well-known/x?a=\"b\"")
        );
        let c = parse_bearer("bearer error=invalid_token,scope=read").unwrap();
        assert_eq!(c.error.as_deref(), Some("invalid_token"));
        assert_eq!(c.scope.as_deref(), Some("read"));
        assert!(parse_bearer("Basic realm=\"x\"").is_none());
        assert!(parse_bearer("Bearer").unwrap().scope.is_none());
        // Unterminated quote: no panic, the value runs to the end.
        let c = parse_bearer("Bearer scope=\"a b").unwrap();
        assert_eq!(c.scope.as_deref(), Some("a b"));
    }
}
