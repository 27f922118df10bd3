//! What changed between two revisions of an article, in sentences readers can scan.

/// Sentences of a normalised body: cut after Chinese and Latin sentence ends.
pub fn sentences(body: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, c) in body.char_indices() {
        if matches!(c, '。' | '！' | '？' | '!' | '?' | ';' | '；') {
            let end = i + c.len_utf8();
            push(&mut out, &body[start..end]);
            start = end;
        }
    }
    push(&mut out, &body[start..]);
    out
}

fn push<'a>(out: &mut Vec<&'a str>, s: &'a str) {
    let s = s.trim();
    if !s.is_empty() {
        out.push(s);
    }
}

/// Sentences of `new` not in `old` (added) and of `old` not in `new` (removed), in text order.
pub fn changed_sentences(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let old_s = sentences(old);
    let new_s = sentences(new);
    let old_set: std::collections::HashSet<&str> = old_s.iter().copied().collect();
    let new_set: std::collections::HashSet<&str> = new_s.iter().copied().collect();
    let added = new_s
        .iter()
        .filter(|s| !old_set.contains(*s))
        .map(|s| s.to_string())
        .collect();
    let removed = old_s
        .iter()
        .filter(|s| !new_set.contains(*s))
        .map(|s| s.to_string())
        .collect();
    (added, removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_added_and_removed_sentences() {
        let old = "总投资50亿元。项目落户光谷。 二、进展顺利!";
        let new = "总投资60亿元。项目落户光谷。 二、进展顺利! 预计年底投产。";
        let (added, removed) = changed_sentences(old, new);
        assert_eq!(added, ["总投资60亿元。", "预计年底投产。"]);
        assert_eq!(removed, ["总投资50亿元。"]);
        assert_eq!(changed_sentences(old, old), (vec![], vec![]));
    }
}
