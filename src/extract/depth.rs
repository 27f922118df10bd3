//! A cap on element nesting, applied before parsing.
//!
//! html5ever checks element scope by walking the stack of open elements, so a hostile page of
//! 100,000 nested `<div>`s costs quadratic time (seconds at 30,000, minutes at 100,000). Browsers
//! cap the tree depth (Blink at 512); this does the same before html5ever sees the page: start
//! tags deeper than [`MAX_DEPTH`] are dropped with their end tags, keeping all text. No crate
//! offers this, and it is one linear pass over the tags.

use std::borrow::Cow;

/// Deepest element nesting kept, as in Blink's HTML parser.
pub const MAX_DEPTH: usize = 512;

/// Elements without end tags, or whose end tag is optional and usually left out: they do not
/// count towards the depth, so a long page of unclosed `<p>`/`<li>` is never touched.
fn uncounted(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "p"
            | "li"
            | "dt"
            | "dd"
            | "tr"
            | "td"
            | "th"
            | "option"
            | "optgroup"
            | "rb"
            | "rt"
            | "rp"
            | "thead"
            | "tbody"
            | "tfoot"
            | "colgroup"
            | "caption"
            | "html"
            | "head"
            | "body"
    )
}

/// Elements whose content is raw text, where `<` starts no tag.
fn raw_text(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "textarea"
            | "title"
            | "xmp"
            | "iframe"
            | "noembed"
            | "noframes"
            | "plaintext"
    )
}

/// `html` with start tags nested deeper than `max_depth` removed (and their end tags).
pub fn cap_nesting(html: &str, max_depth: usize) -> Cow<'_, str> {
    // Fewer tags than the cap cannot nest past it.
    if html.bytes().filter(|&b| b == b'<').count() <= max_depth {
        return Cow::Borrowed(html);
    }
    let bytes = html.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0; // bytes of `html` already copied into `out`
    let mut stack: Vec<(String, bool)> = Vec::new(); // (name, kept)
    let mut i = 0;
    while let Some(off) = html[i..].find('<') {
        let start = i + off;
        let Some(tag_end) = tag_end(bytes, start) else {
            break;
        };
        let tag = &html[start..tag_end];
        i = tag_end;
        if tag.starts_with("<!--") || tag.starts_with("<!") || tag.starts_with("<?") {
            continue;
        }
        let closing = tag.starts_with("</");
        let name: String = tag[if closing { 2 } else { 1 }..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
            .to_ascii_lowercase();
        if name.is_empty() || uncounted(&name) {
            continue;
        }
        let drop_tag = if closing {
            // An end tag closes the nearest open element of its name; ones above it were
            // closed implicitly. Unmatched end tags pass through untouched.
            match stack.iter().rposition(|(n, _)| *n == name) {
                Some(pos) => {
                    let kept = stack[pos].1;
                    stack.truncate(pos);
                    !kept
                }
                None => false,
            }
        } else if tag.ends_with("/>") {
            false
        } else {
            let keep = stack.len() < max_depth;
            stack.push((name.clone(), keep));
            if raw_text(&name) {
                // Skip to the matching end tag: its content is text, not markup.
                let close = format!("</{name}");
                match find_ascii_ci(&html[i..], &close) {
                    Some(p) => i += p,
                    None => break,
                }
            }
            !keep
        };
        if drop_tag {
            let o = out.get_or_insert_with(|| String::with_capacity(html.len()));
            o.push_str(&html[copied..start]);
            copied = tag_end;
        }
    }
    match out {
        None => Cow::Borrowed(html),
        Some(mut o) => {
            o.push_str(&html[copied..]);
            Cow::Owned(o)
        }
    }
}

/// End (exclusive) of the tag or comment starting at `start`, quotes respected.
fn tag_end(bytes: &[u8], start: usize) -> Option<usize> {
    if bytes[start..].starts_with(b"<!--") {
        let rest = &bytes[start + 4..];
        return rest
            .windows(3)
            .position(|w| w == b"-->")
            .map(|p| start + 4 + p + 3);
    }
    let mut quote = None;
    for (j, &b) in bytes.iter().enumerate().skip(start + 1) {
        match (quote, b) {
            (Some(q), _) if b == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(b),
            (None, b'>') => return Some(j + 1),
            _ => {}
        }
    }
    None
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    hay.as_bytes()
        .windows(n)
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_pages_are_untouched() {
        let page = "<div><p>一<p>二<ul><li>三<li>四</ul></div>".repeat(300);
        assert!(matches!(cap_nesting(&page, 8), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_nesting_is_capped_keeping_text() {
        let page = format!(
            "<body>{}深处{}<p>后</p></body>",
            "<div class=x>".repeat(50),
            "</div>".repeat(50)
        );
        let capped = cap_nesting(&page, 10);
        assert_eq!(capped.matches("<div").count(), 10);
        assert_eq!(capped.matches("</div>").count(), 10);
        assert!(capped.contains("深处") && capped.contains("<p>后</p>"));
    }

    #[test]
    fn scripts_comments_and_quotes_are_not_markup() {
        let page = format!(
            "{}<script>if (a<b) {{ x = '<div>'; }}</script><!-- <div> --><a title='>'>t</a>{}",
            "<div>".repeat(20),
            "</div>".repeat(20)
        );
        let capped = cap_nesting(&page, 5);
        assert!(
            capped.contains("x = '<div>'") && capped.contains("<!-- <div> -->"),
            "{capped}"
        );
        assert!(
            capped.contains("<a title='>'>t</a>") || capped.contains(">t"),
            "{capped}"
        );
        assert_eq!(capped.matches("</div>").count(), 5);
    }
}
