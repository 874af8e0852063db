//! The engine's search language, the part clients use: `field=value` conditions (also `!=`),
//! `*` wildcards, `and` / `or` (and binds tighter), quoted values, `sortby FIELD [asc|desc]` and
//! `page N`. Matching is case-insensitive unless `case_sensitive=true` is given, as in the
//! engine. Status values match with or without underscores (`wait_for_launch`,
//! `waitforlaunch`).

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub field: String,
    pub negated: bool,
    pub value: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Query {
    /// OR of AND groups.
    pub groups: Vec<Vec<Condition>>,
    pub sort_by: Option<String>,
    pub descending: bool,
    /// 1-based page number.
    pub page: Option<usize>,
}

fn tokenize(text: &str) -> Result<Vec<String>, String> {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                // A quoted value: everything up to the matching quote.
                let mut closed = false;
                for q in chars.by_ref() {
                    if q == c {
                        closed = true;
                        break;
                    }
                    cur.push(q);
                }
                if !closed {
                    return Err("unterminated quote".into());
                }
            }
            '=' => {
                flush(&mut tokens, &mut cur);
                tokens.push("=".into());
            }
            '!' if chars.peek() == Some(&'=') => {
                chars.next();
                flush(&mut tokens, &mut cur);
                tokens.push("!=".into());
            }
            c if c.is_whitespace() => flush(&mut tokens, &mut cur),
            c => cur.push(c),
        }
    }
    flush(&mut tokens, &mut cur);
    Ok(tokens)
}

fn flush(tokens: &mut Vec<String>, cur: &mut String) {
    if !cur.is_empty() {
        tokens.push(std::mem::take(cur));
    }
}

/// Parses a search expression; `fields` are the ones the collection knows.
pub fn parse(text: &str, fields: &[&str]) -> Result<Query, String> {
    let tokens = tokenize(text)?;
    let mut q = Query::default();
    let mut group: Vec<Condition> = Vec::new();
    let mut i = 0;
    // An optional "Vms:" style prefix is accepted and ignored.
    if tokens.first().is_some_and(|t| t.ends_with(':')) {
        i = 1;
    }
    while i < tokens.len() {
        let t = tokens[i].to_ascii_lowercase();
        match t.as_str() {
            "and" => i += 1,
            "or" => {
                if group.is_empty() {
                    return Err("'or' without a condition before it".into());
                }
                q.groups.push(std::mem::take(&mut group));
                i += 1;
            }
            "sortby" => {
                let field = tokens.get(i + 1).ok_or("sortby needs a field")?;
                let field = field.to_ascii_lowercase();
                if !fields.contains(&field.as_str()) {
                    return Err(format!("unknown sort field '{field}'"));
                }
                q.sort_by = Some(field);
                i += 2;
                match tokens.get(i).map(|s| s.to_ascii_lowercase()).as_deref() {
                    Some("asc") => i += 1,
                    Some("desc") => {
                        q.descending = true;
                        i += 1
                    }
                    _ => {}
                }
            }
            "page" => {
                let n = tokens.get(i + 1).ok_or("page needs a number")?;
                let n: usize = n.parse().map_err(|_| format!("bad page number '{n}'"))?;
                if n == 0 {
                    return Err("page numbers start at 1".into());
                }
                q.page = Some(n);
                i += 2;
            }
            _ => {
                let op = tokens.get(i + 1).map(String::as_str);
                let negated = match op {
                    Some("=") => false,
                    Some("!=") => true,
                    _ => return Err(format!("expected field=value at '{}'", tokens[i])),
                };
                if !fields.contains(&t.as_str()) {
                    return Err(format!("unknown search field '{}'", tokens[i]));
                }
                let value = tokens.get(i + 2).ok_or("missing value")?;
                if value == "=" || value == "!=" {
                    return Err("missing value".into());
                }
                group.push(Condition {
                    field: t,
                    negated,
                    value: value.clone(),
                });
                i += 3;
            }
        }
    }
    if !group.is_empty() {
        q.groups.push(group);
    } else if !q.groups.is_empty() {
        return Err("'or' without a condition after it".into());
    }
    Ok(q)
}

/// `*` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

fn normalize(s: &str, case_sensitive: bool, field: &str) -> String {
    let s = if field == "status" {
        s.replace('_', "").to_ascii_lowercase()
    } else {
        s.to_string()
    };
    if case_sensitive { s } else { s.to_lowercase() }
}

impl Query {
    /// Does an object match? `value_of` gives an object's value for a field.
    pub fn matches(&self, case_sensitive: bool, value_of: impl Fn(&str) -> String) -> bool {
        if self.groups.is_empty() {
            return true;
        }
        self.groups.iter().any(|group| {
            group.iter().all(|c| {
                let value = normalize(&value_of(&c.field), case_sensitive, &c.field);
                let pattern = normalize(&c.value, case_sensitive, &c.field);
                glob(&pattern, &value) != c.negated
            })
        })
    }
}

/// Sorting, then `page`/`max`: page N of size `max` (the engine's default page size of 100
/// when only `page` is given).
pub fn page<T>(
    mut items: Vec<T>,
    q: &Query,
    max: Option<usize>,
    key: impl Fn(&T, &str) -> String,
) -> Vec<T> {
    let field = q.sort_by.clone().unwrap_or_else(|| "name".into());
    items.sort_by_cached_key(|item| key(item, &field));
    if q.descending {
        items.reverse();
    }
    let size = match (q.page, max) {
        (_, Some(m)) => m,
        (Some(_), None) => 100,
        (None, None) => return items,
    };
    let skip = q.page.unwrap_or(1).saturating_sub(1).saturating_mul(size);
    items.into_iter().skip(skip).take(size).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &[&str] = &["name", "status", "cluster"];

    #[test]
    fn parse_and_match() {
        let q = parse(
            "name=web* and cluster=\"site a\" or status != up sortby name desc page 2",
            F,
        )
        .unwrap();
        assert_eq!(q.groups.len(), 2);
        assert_eq!(q.groups[0][1].value, "site a");
        assert!(q.groups[1][0].negated);
        assert_eq!(q.sort_by.as_deref(), Some("name"));
        assert!(q.descending);
        assert_eq!(q.page, Some(2));
        let v = |f: &str| match f {
            "name" => "WEB1".to_string(),
            "cluster" => "Site A".to_string(),
            _ => "up".to_string(),
        };
        assert!(q.matches(false, v));
        assert!(!q.matches(true, v));
    }

    #[test]
    fn status_without_underscores() {
        let q = parse("status=WaitForLaunch", F).unwrap();
        assert!(q.matches(false, |_| "wait_for_launch".into()));
    }

    #[test]
    fn errors() {
        for bad in [
            "bogus=1",
            "name",
            "name=",
            "or name=a",
            "page x",
            "page 0",
            "name=\"a",
        ] {
            assert!(parse(bad, F).is_err(), "{bad}");
        }
        assert_eq!(parse("", F).unwrap(), Query::default());
    }

    #[test]
    fn globbing() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("*", ""));
        assert!(!glob("a*c", "abd"));
        assert!(glob("a**", "a"));
    }

    #[test]
    fn paging() {
        let items: Vec<u32> = (1..=25).collect();
        let q = Query {
            page: Some(3),
            ..Default::default()
        };
        let got = page(items, &q, Some(10), |n, _| format!("{n:03}"));
        assert_eq!(got, vec![21, 22, 23, 24, 25]);
    }
}
