//! Making page text inert in a chat digest's markdown.
//!
//! A page's title, source name, opening and sentences go into `digest.md` between markup the
//! template writes. Left as they are, a title like `[点此](https://evil.example/x)` becomes a
//! link whose text hides its target, `![](https://evil.example/t.png)` an image fetched by
//! every reader's client (a tracking pixel), and `<font color=red>` or `<at id=all>` markup of
//! the robot's own. So every value a `.md` template prints is escaped unless newswatch built it
//! as markup itself (the keyword highlights and the link target).
//!
//! How, per platform:
//! - WeCom, DingTalk and Feishu document no escape syntax that their markdown honours (a
//!   backslash is shown as a backslash in some, and the link still forms), and each adds HTML
//!   tags of its own (`<font>`, `<at>`). The characters that make markup are replaced by their
//!   full-width forms (`[` → `［`, `(` → `（`, `<` → `＜` …), which a Chinese reader reads as
//!   the same punctuation and which no chat markdown parses. (Stored text is NFKC-folded, so
//!   these forms never occur in it to begin with.)
//! - The plain webhook gets CommonMark backslash escapes, which a CommonMark renderer shows
//!   as the characters themselves.
//!
//! Line breaks become spaces in both: a value never starts a line of its own (a heading, a
//! quote, a list item).

/// How page text is made inert for one kind of chat robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// WeCom, DingTalk, Feishu: markup characters replaced by their full-width forms.
    Chat,
    /// The plain webhook: CommonMark backslash escapes.
    CommonMark,
}

impl Markup {
    /// `text` as literal text in this markup.
    pub fn escape(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 8);
        for c in text.chars() {
            match self {
                Markup::Chat => out.push(full_width(c)),
                Markup::CommonMark => {
                    if COMMONMARK_SPECIAL.contains(c) {
                        out.push('\\');
                        out.push(c);
                    } else {
                        out.push(line_break_to_space(c));
                    }
                }
            }
        }
        out
    }

    /// `url` for a markdown link target `[text](url)`: characters that would end the target
    /// or start other markup are percent-encoded, which leaves the address the same.
    pub fn link_target(self, url: &str) -> String {
        let mut out = String::with_capacity(url.len());
        for c in url.chars() {
            match c {
                '(' | ')' | '[' | ']' | '<' | '>' | '"' | '\'' | '\\' | '`' | '|' | '{' | '}'
                | ' ' | '!' => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("%{b:02X}"));
                    }
                }
                c if c.is_control() => {}
                c => out.push(c),
            }
        }
        out
    }
}

/// ASCII characters that start or end markup in CommonMark or in a robot's markdown.
const COMMONMARK_SPECIAL: &str = "\\`*_{}[]()<>#!|~&";

fn line_break_to_space(c: char) -> char {
    if c == '\n' || c == '\r' { ' ' } else { c }
}

fn full_width(c: char) -> char {
    match c {
        '\\' => '＼',
        '`' => '｀',
        '*' => '＊',
        '_' => '＿',
        '~' => '～',
        '[' => '［',
        ']' => '］',
        '(' => '（',
        ')' => '）',
        '<' => '＜',
        '>' => '＞',
        '#' => '＃',
        '!' => '！',
        '|' => '｜',
        '{' => '｛',
        '}' => '｝',
        '&' => '＆',
        c => line_break_to_space(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str =
        "[点此](https://evil.example/x) ![](https://evil.example/t.png) <font color=red>";

    #[test]
    fn chat_escape_leaves_no_markup_characters() {
        let out = Markup::Chat.escape(HOSTILE);
        assert_eq!(
            out,
            "［点此］（https://evil.example/x） ！［］（https://evil.example/t.png） ＜font color=red＞"
        );
        assert_eq!(
            Markup::Chat.escape("**粗**\n# 标题 `代码`"),
            "＊＊粗＊＊ ＃ 标题 ｀代码｀"
        );
    }

    #[test]
    fn commonmark_escape_uses_backslashes() {
        assert_eq!(
            Markup::CommonMark.escape(HOSTILE),
            r"\[点此\]\(https://evil.example/x\) \!\[\]\(https://evil.example/t.png\) \<font color=red\>"
        );
        assert_eq!(Markup::CommonMark.escape("a\nb"), "a b");
    }

    #[test]
    fn link_targets_cannot_close_the_link() {
        assert_eq!(
            Markup::Chat.link_target("http://h/a)![](http://evil/t.png"),
            "http://h/a%29%21%5B%5D%28http://evil/t.png"
        );
        assert_eq!(
            Markup::Chat.link_target("http://h/t20250702_1.html?a=1&b=2"),
            "http://h/t20250702_1.html?a=1&b=2"
        );
    }
}
