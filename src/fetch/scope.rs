//! Which hosts one source may touch, and where its own request headers go.
//!
//! A page can point anywhere: its links, its redirects, its `<link rel=canonical>`. Followed
//! blindly, a source's list page could make newswatch fetch an internal admin page with the
//! source's cookies, or claim an article URL of another source as its own. A [`Scope`] holds
//! the rule for one source:
//!
//! - it fetches from its own *site* — the host of its URL with `www.` dropped, and every
//!   subdomain of that — and from the hosts of its `allowed_hosts` (each with its subdomains);
//! - a host whose most specific site is another source's belongs to that source: this one
//!   neither fetches nor stores URLs there;
//! - its `headers` (cookies, `Authorization`, credentials from the URL) go only to its own
//!   origin: the scheme, host and port of its URL (and the https form of an http origin).

use std::fmt;
use url::Url;

/// Why a URL is outside a source's scope. A policy, not a failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffScope {
    /// Neither the source's own site nor one of its `allowed_hosts`.
    Host { host: String },
    /// A host that belongs to another source (its site is the most specific match).
    OtherSource { host: String, source: String },
}

impl fmt::Display for OffScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OffScope::Host { host } => write!(
                f,
                "host {host} is not this source's own nor in its allowed_hosts"
            ),
            OffScope::OtherSource { host, source } => {
                write!(f, "host {host} belongs to source {source:?}")
            }
        }
    }
}

/// A host name pattern of `allowed_hosts`: a host and its subdomains, or any host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Any,
    Site(String),
}

impl HostPattern {
    /// Reads one `allowed_hosts` entry: `example.gov.cn` (its subdomains included),
    /// `*.example.gov.cn` (the same), `*` (any host) or an IP address. `None` when it is not a
    /// host name (a URL, a path, a port).
    pub fn parse(entry: &str) -> Option<HostPattern> {
        let entry = entry.trim().trim_end_matches('.').to_ascii_lowercase();
        if entry == "*" {
            return Some(HostPattern::Any);
        }
        let bare = entry.strip_prefix("*.").unwrap_or(&entry);
        let port = match bare.strip_prefix('[') {
            Some(v6) => v6.contains("]:"),
            None => bare.contains(':'),
        };
        if bare.is_empty() || port || bare.contains(['/', '@', '?', '#', '*']) {
            return None;
        }
        // `url` checks and normalises the host exactly as it does for a URL's (IDNA
        // included), so a pattern compares equal to the host_str of the URLs it covers.
        let url = Url::parse(&format!("http://{bare}/")).ok()?;
        url.host_str()
            .map(|h| HostPattern::Site(site_of(h).to_owned()))
    }

    fn covers(&self, host: &str) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Site(site) => covers(site, host),
        }
    }
}

/// A host's site: the host with a leading `www.` dropped (`www.wuhan.gov.cn` and
/// `wuhan.gov.cn` are one site). An IP address is its own site.
pub fn site_of(host: &str) -> &str {
    match host.strip_prefix("www.") {
        Some(rest) if rest.contains('.') && !is_ip(host) => rest,
        _ => host,
    }
}

fn is_ip(host: &str) -> bool {
    host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Whether `host` is `site` or one of its subdomains (an IP address only itself).
fn covers(site: &str, host: &str) -> bool {
    host == site
        || (!is_ip(site)
            && host.len() > site.len()
            && host.ends_with(site)
            && host.as_bytes()[host.len() - site.len() - 1] == b'.')
}

/// The hosts one source may fetch from and take URLs under, and the origin its headers go to.
/// The default scope (pages fetched outside any source) allows every host and sends the
/// headers nowhere.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// The source URL, whose origin alone gets the source's headers.
    home: Option<Url>,
    /// The source's own site.
    site: Option<String>,
    /// `allowed_hosts`.
    allowed: Vec<HostPattern>,
    /// Every other source's site, with its name.
    others: Vec<(String, String)>,
}

impl Scope {
    /// The scope of a source at `home` that also fetches from `allowed`.
    pub fn new(home: &Url, allowed: Vec<HostPattern>) -> Scope {
        Scope {
            home: Some(home.clone()),
            site: home.host_str().map(|h| site_of(h).to_owned()),
            allowed,
            others: Vec::new(),
        }
    }

    /// The source's own site (`None` for the default scope).
    pub fn site(&self) -> Option<&str> {
        self.site.as_deref()
    }

    /// Tells the scope every other source's site, so that it leaves their hosts to them.
    /// A site this source shares (two sections of one portal) stays its own.
    pub fn set_others(&mut self, others: impl IntoIterator<Item = (String, String)>) {
        self.others = others
            .into_iter()
            .filter(|(site, _)| Some(site.as_str()) != self.site.as_deref())
            .collect();
    }

    /// The same scope allowing every host, for robots.txt, which may redirect anywhere; the
    /// headers still go only to the source's origin.
    pub fn unrestricted(&self) -> Scope {
        Scope {
            home: self.home.clone(),
            site: self.site.clone(),
            allowed: vec![HostPattern::Any],
            others: Vec::new(),
        }
    }

    /// Whether the source may fetch `url`, and store it (as a listed link, canonical or alias).
    pub fn check(&self, url: &Url) -> Result<(), OffScope> {
        let Some(host) = url.host_str() else {
            return Err(OffScope::Host {
                host: String::new(),
            });
        };
        if self.home.is_none() {
            return Ok(());
        }
        let own = self.site.as_deref().is_some_and(|s| covers(s, host));
        if !own && !self.allowed.iter().any(|p| p.covers(host)) {
            return Err(OffScope::Host {
                host: host.to_owned(),
            });
        }
        self.owner(host).map_or(Ok(()), |source| {
            Err(OffScope::OtherSource {
                host: host.to_owned(),
                source: source.to_owned(),
            })
        })
    }

    /// The other source `url`'s host belongs to, if any: the source whose site is the most
    /// specific match, unless this source's own site is as specific.
    pub fn owner_of(&self, url: &Url) -> Option<&str> {
        self.owner(url.host_str()?)
    }

    fn owner(&self, host: &str) -> Option<&str> {
        let own = self
            .site
            .as_deref()
            .filter(|s| covers(s, host))
            .map_or(0, str::len);
        self.others
            .iter()
            .filter(|(site, _)| covers(site, host) && site.len() > own)
            .max_by_key(|(site, _)| site.len())
            .map(|(_, name)| name.as_str())
    }

    /// Whether a page at `page` may name `canonical` as its canonical URL: only on the page's
    /// own host and port (http or https), or on a host the source lists in `allowed_hosts` —
    /// and never under another source's host. A page cannot move itself anywhere else.
    pub fn accepts_canonical(&self, canonical: &Url, page: &Url) -> bool {
        let same_host = canonical.host_str() == page.host_str()
            && (canonical.port_or_known_default() == page.port_or_known_default()
                || (canonical.port().is_none() && page.port().is_none()));
        let listed = canonical
            .host_str()
            .is_some_and(|h| self.allowed.iter().any(|p| p.covers(h)));
        (same_host || listed || self.home.is_none()) && self.check(canonical).is_ok()
    }

    /// Whether the source's own headers go with a request to `url`: only to the source URL's
    /// origin, or its https form.
    pub fn sends_headers(&self, url: &Url) -> bool {
        let Some(home) = &self.home else {
            return false;
        };
        if url.host_str() != home.host_str() {
            return false;
        }
        let same = url.scheme() == home.scheme()
            && url.port_or_known_default() == home.port_or_known_default();
        let upgraded = home.scheme() == "http"
            && url.scheme() == "https"
            && home.port().is_none()
            && url.port().is_none();
        same || upgraded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn scope(home: &str, allowed: &[&str]) -> Scope {
        let allowed = allowed
            .iter()
            .map(|a| HostPattern::parse(a).unwrap_or_else(|| panic!("{a}")))
            .collect();
        Scope::new(&url(home), allowed)
    }

    #[test]
    fn own_site_and_its_subdomains_by_default() {
        let s = scope("https://www.wuhan.gov.cn/sy/whyw/", &[]);
        for ok in [
            "https://www.wuhan.gov.cn/a.html",
            "http://wuhan.gov.cn/a.html",
            "https://zwgk.wuhan.gov.cn/a.html",
            "https://www.wuhan.gov.cn:8443/a.html",
        ] {
            assert_eq!(s.check(&url(ok)), Ok(()), "{ok}");
        }
        for off in [
            "https://evilwuhan.gov.cn/a.html",
            "https://gov.cn/a.html",
            "https://admin.internal/secret",
            "http://127.0.0.1/",
        ] {
            assert!(
                matches!(s.check(&url(off)), Err(OffScope::Host { .. })),
                "{off}"
            );
        }
    }

    #[test]
    fn allowed_hosts_add_sites_and_star_allows_any() {
        let s = scope(
            "http://127.0.0.1:8080/list",
            &["*.cdn.example", "localhost"],
        );
        assert_eq!(s.check(&url("http://127.0.0.1:9999/x")), Ok(()));
        assert_eq!(s.check(&url("http://img.cdn.example/x")), Ok(()));
        assert_eq!(s.check(&url("http://cdn.example/x")), Ok(()));
        assert_eq!(s.check(&url("http://localhost:1/x")), Ok(()));
        assert!(s.check(&url("http://127.0.0.2/x")).is_err());
        let any = scope("http://a.example/", &["*"]);
        assert_eq!(any.check(&url("http://anything.test/")), Ok(()));
        for bad in [
            "http://a.example/",
            "a.example:80",
            "a/b",
            "",
            "u@a.example",
        ] {
            assert_eq!(HostPattern::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn another_sources_host_is_left_to_it() {
        let mut gov = scope("https://www.wuhan.gov.cn/sy/", &["gov.cn"]);
        gov.set_others([
            ("tzcj.wuhan.gov.cn".to_owned(), "wuhan-invest".to_owned()),
            ("wuhan.gov.cn".to_owned(), "wuhan-gov-2".to_owned()),
            ("qiaokou.gov.cn".to_owned(), "qiaokou".to_owned()),
        ]);
        assert_eq!(
            gov.check(&url("https://tzcj.wuhan.gov.cn/a.html")),
            Err(OffScope::OtherSource {
                host: "tzcj.wuhan.gov.cn".into(),
                source: "wuhan-invest".into()
            })
        );
        assert!(matches!(
            gov.check(&url("http://www.qiaokou.gov.cn/a.html")),
            Err(OffScope::OtherSource { .. })
        ));
        // A site two sources share stays each one's own.
        assert_eq!(gov.check(&url("https://www.wuhan.gov.cn/b.html")), Ok(()));
        assert_eq!(gov.check(&url("https://hb.gov.cn/b.html")), Ok(()));
        let mut invest = scope("https://tzcj.wuhan.gov.cn/xwzx/", &[]);
        invest.set_others([("wuhan.gov.cn".to_owned(), "wuhan-gov".to_owned())]);
        assert_eq!(invest.check(&url("https://tzcj.wuhan.gov.cn/a")), Ok(()));
    }

    #[test]
    fn canonical_only_on_the_pages_own_host_or_a_listed_one() {
        let mut s = scope("http://portal.example/list", &["mirror.example"]);
        s.set_others([("official.example".to_owned(), "official".to_owned())]);
        let page = url("http://portal.example/a.html");
        assert!(s.accepts_canonical(&url("https://portal.example/a"), &page));
        assert!(s.accepts_canonical(&url("http://www.mirror.example/a"), &page));
        assert!(!s.accepts_canonical(&url("http://admin.internal/"), &page));
        assert!(!s.accepts_canonical(&url("http://portal.example:8081/admin"), &page));
        assert!(!s.accepts_canonical(&url("http://news.portal.example/a"), &page));
        assert!(!s.accepts_canonical(&url("http://official.example/a"), &page));
        let mut listing_official = scope("http://portal.example/", &["official.example"]);
        listing_official.set_others([("official.example".to_owned(), "official".to_owned())]);
        assert!(!listing_official.accepts_canonical(&url("http://official.example/a"), &page));
    }

    #[test]
    fn headers_go_to_the_sources_origin_only() {
        let s = scope("http://portal.example/list", &["cdn.example"]);
        assert!(s.sends_headers(&url("http://portal.example/a")));
        assert!(s.sends_headers(&url("https://portal.example/a")));
        assert!(!s.sends_headers(&url("http://portal.example:8080/a")));
        assert!(!s.sends_headers(&url("http://news.portal.example/a")));
        assert!(!s.sends_headers(&url("http://cdn.example/a")));
        let https = scope("https://portal.example/", &[]);
        assert!(!https.sends_headers(&url("http://portal.example/a")));
        assert!(!Scope::default().sends_headers(&url("http://portal.example/a")));
    }
}
