//! The page templates: built into the binary from `templates/web/`, each replaceable by a file
//! of the same name in `[settings] web_templates`. All are compiled when the daemon starts (and
//! by `validate`), so a broken template is reported then, naming its file, and never when a
//! reader opens the page.

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Every page template, by file name.
pub const FILES: &[&str] = &[
    "layout.html",
    "index.html",
    "search.html",
    "article.html",
    "sources.html",
    "digests.html",
    "login.html",
    "error.html",
];

/// Work one page render may do (minijinja's fuel: about one instruction, or 64 bytes built). A
/// page of 30 articles takes a few thousand; a template looping without end stops here.
const FUEL: u64 = 5_000_000;

#[derive(Debug, Error)]
pub enum WebError {
    #[error("web template {name}: {reason}")]
    Template { name: String, reason: String },
}

fn builtin(name: &str) -> Option<&'static str> {
    Some(match name {
        "layout.html" => include_str!("../../templates/web/layout.html"),
        "index.html" => include_str!("../../templates/web/index.html"),
        "search.html" => include_str!("../../templates/web/search.html"),
        "article.html" => include_str!("../../templates/web/article.html"),
        "sources.html" => include_str!("../../templates/web/sources.html"),
        "digests.html" => include_str!("../../templates/web/digests.html"),
        "login.html" => include_str!("../../templates/web/login.html"),
        "error.html" => include_str!("../../templates/web/error.html"),
        _ => return None,
    })
}

/// The compiled page templates.
pub struct Pages {
    env: minijinja::Environment<'static>,
    /// Where each template came from, for errors.
    shown: Vec<(&'static str, String)>,
}

impl Pages {
    /// Loads every page template: the file in `dir` when there is one, else the built-in one.
    pub fn load(dir: Option<&Path>) -> Result<Pages, WebError> {
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        env.set_fuel(Some(FUEL));
        let mut shown = Vec::new();
        for name in FILES {
            let own: Option<PathBuf> = dir.map(|d| d.join(name)).filter(|p| p.is_file());
            let (place, source) = match &own {
                Some(path) => (
                    path.display().to_string(),
                    std::fs::read_to_string(path).map_err(|e| WebError::Template {
                        name: path.display().to_string(),
                        reason: e.to_string(),
                    })?,
                ),
                None => (
                    format!("built-in web/{name}"),
                    builtin(name).unwrap_or_default().to_owned(),
                ),
            };
            env.add_template_owned(*name, source)
                .map_err(|e| WebError::Template {
                    name: place.clone(),
                    reason: format!("{e:#}"),
                })?;
            shown.push((*name, place));
        }
        Ok(Pages { env, shown })
    }

    /// Renders page `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, WebError> {
        let place = || {
            self.shown
                .iter()
                .find(|(n, _)| *n == name)
                .map_or_else(|| name.to_owned(), |(_, p)| p.clone())
        };
        self.env
            .get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| WebError::Template {
                name: place(),
                reason: if e.kind() == minijinja::ErrorKind::OutOfFuel {
                    format!("rendering used up its budget of {FUEL} units of work (does it loop without end?)")
                } else {
                    format!("{e:#}")
                },
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_pages_compile_and_escape_page_text() {
        let pages = Pages::load(None).unwrap_or_else(|e| panic!("{e}"));
        let html = pages
            .render(
                "error.html",
                minijinja::context! { message => "<script>alert(1)</script>", status => 404 },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("name=\"viewport\""), "{html}");
    }

    #[test]
    fn a_folder_overrides_one_page_and_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let _ = std::fs::write(dir.path().join("error.html"), "<p>出错：{{ message }}</p>");
        let pages = Pages::load(Some(dir.path())).unwrap_or_else(|e| panic!("{e}"));
        let html = pages
            .render(
                "error.html",
                minijinja::context! { message => "x&y", status => 500 },
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(html, "<p>出错：x&amp;y</p>");
        let _ = std::fs::write(dir.path().join("index.html"), "{% for x in %}");
        let err = Pages::load(Some(dir.path()))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains(&dir.path().join("index.html").display().to_string()),
            "{err}"
        );
    }
}
