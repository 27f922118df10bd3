//! Visible text of a DOM subtree, with paragraph boundaries marked.

use crate::normalise::BLOCK_BREAK;
use ego_tree::iter::Edge;
use scraper::{ElementRef, Node};

/// Elements whose content is never article text.
pub(super) fn is_skipped(name: &str) -> bool {
    matches!(
        name,
        "script"
            | "style"
            | "noscript"
            | "template"
            | "iframe"
            | "svg"
            | "canvas"
            | "object"
            | "embed"
            | "select"
            | "textarea"
            | "button"
            | "head"
            | "math"
    )
}

/// Elements that start a new line when rendered; their edges become [`BLOCK_BREAK`].
pub(super) fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "br"
            | "caption"
            | "center"
            | "dd"
            | "details"
            | "dialog"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "legend"
            | "li"
            | "main"
            | "nav"
            | "ol"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
            | "body"
            | "html"
    )
}

/// Whether the element is hidden by its own markup (`hidden`, `display:none`).
pub(super) fn is_hidden(el: &scraper::node::Element) -> bool {
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return true;
    }
    el.attr("style").is_some_and(|s| {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let s = s.to_ascii_lowercase();
        s.contains("display:none") || s.contains("visibility:hidden")
    })
}

/// The text a reader sees in `root`: scripts, styles, comments and hidden elements dropped,
/// [`BLOCK_BREAK`] at the edges of block elements, nothing between inline elements (so a link
/// inside a Chinese sentence does not split it). Feed the result to [`crate::normalise::text`].
///
/// Walks the tree iteratively, so arbitrarily deep nesting cannot overflow the stack.
pub fn visible_text(root: ElementRef<'_>) -> String {
    let mut out = String::new();
    let mut skip_depth = 0usize;
    for edge in root.traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(el) => {
                    if skip_depth > 0 || is_skipped(el.name()) || is_hidden(el) {
                        skip_depth += 1;
                    } else if is_block(el.name()) {
                        out.push(BLOCK_BREAK);
                    }
                }
                Node::Text(t) if skip_depth == 0 => out.push_str(t),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(el) = node.value() {
                    if skip_depth > 0 {
                        skip_depth -= 1;
                    } else if is_block(el.name()) {
                        out.push(BLOCK_BREAK);
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise;
    use scraper::Html;

    fn text_of(html: &str) -> String {
        let doc = Html::parse_document(html);
        normalise::text(&visible_text(doc.root_element()))
    }

    #[test]
    fn inline_links_do_not_split_sentences() {
        assert_eq!(
            text_of("<p>武汉市<a href='/x'>硚口区</a>优化<b>营商</b>环境。</p><p>第二段。</p>"),
            "武汉市硚口区优化营商环境。 第二段。"
        );
    }

    #[test]
    fn drops_scripts_styles_comments_and_hidden() {
        let html = "<div><script>var d='2020-01-01';</script><style>p{}</style><!-- c -->\
                    <p>正文<span style='display: none'>隐藏</span></p><p hidden>x</p></div>";
        assert_eq!(text_of(html), "正文");
    }

    #[test]
    fn line_breaks_and_cells_separate_text() {
        assert_eq!(
            text_of("<div>一行<br>二行</div><table><tr><td>甲</td><td>乙</td></tr></table>"),
            "一行 二行 甲 乙"
        );
    }
}
