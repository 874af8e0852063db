//! "Did you mean": the closest of the known names to one that was mistyped, rather than the whole
//! list (a configuration of 150 resources made a 1.7 KB line of it).

use strsim::damerau_levenshtein;

/// At most this many suggestions.
const MAX: usize = 3;
/// A list this short is shown whole when nothing is close: it helps and costs nothing.
const SHORT_LIST: usize = 5;

/// The known names closest to `wanted` (case-insensitive edit distance, transpositions counting
/// once), best first. Close means at most a quarter of the name's letters wrong (one at least), or
/// `wanted` beginning the name (a name cut short): a distance as long as the name itself is no
/// resemblance at all.
pub fn closest<'a>(wanted: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let wanted_lower = wanted.to_lowercase();
    let letters = wanted_lower.chars().count();
    let limit = (letters / 4).max(1);
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .filter_map(|name| {
            let lower = name.to_lowercase();
            let distance = damerau_levenshtein(&wanted_lower, &lower);
            let cut_short = letters >= 3 && lower.starts_with(&wanted_lower);
            (distance < letters && (distance <= limit || cut_short)).then_some((distance, name))
        })
        .collect();
    scored.sort();
    scored.into_iter().take(MAX).map(|(_, name)| name).collect()
}

/// "a, b or c".
pub fn either(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// What to add to "no NOUN named 'x'": the closest names, else the whole list when it is short,
/// else how many there are. `listed` introduces the whole list ("configured", "defined").
pub fn hint(wanted: &str, known: &[&str], listed: &str) -> String {
    let close = closest(wanted, known.iter().copied());
    if !close.is_empty() {
        return format!("did you mean {}?", either(&close));
    }
    match known.len() {
        0 => format!("{listed}: none"),
        n if n <= SHORT_LIST => format!("{listed}: {}", known.join(", ")),
        n => format!("{n} {listed}, none close"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_names_case_insensitive_best_first() {
        let known = ["web_vm", "web_vm2", "db_vm", "mail_vm", "Node1"];
        assert_eq!(closest("web_mv", known), ["web_vm"]);
        assert_eq!(closest("WEB_VM", known), ["web_vm", "web_vm2"]);
        assert_eq!(closest("node1", known), ["Node1"]);
        assert_eq!(closest("mail", known), ["mail_vm"]);
        assert!(closest("z", known).is_empty());
        assert!(closest("nosuch", known).is_empty());
    }

    #[test]
    fn hints() {
        assert_eq!(
            hint("dbvm", &["db_vm", "web_vm"], "configured"),
            "did you mean db_vm?"
        );
        assert_eq!(hint("z", &["a", "b"], "defined"), "defined: a, b");
        assert_eq!(hint("z", &[], "defined"), "defined: none");
        let many: Vec<String> = (0..150).map(|i| format!("res{i:03}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            hint("zzzz", &many, "configured"),
            "150 configured, none close"
        );
        assert_eq!(
            hint("res1000", &many, "configured"),
            "did you mean res000 or res100?"
        );
        assert_eq!(either(&["a", "b", "c"]), "a, b or c");
    }
}
