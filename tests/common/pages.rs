//! Fixture pages in the shape of Chinese government portals: navigation, breadcrumbs, a related
//! news box with its own dates, share bar, scripts holding dates, and a copyright footer.

/// An article page. `paragraphs` are the body's `<p>`s, as HTML.
pub fn article(charset: &str, title: &str, date: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!DOCTYPE html>
<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">
<title>{title}_武汉市某区人民政府</title>
<script>var updated = "2019-01-01"; document.write("<p>广告</p>");</script>
<style>.article-content p {{ text-indent: 2em; }}</style>
</head><body>
<div class="top-nav"><a href="/">首页</a><a href="/news/">新闻中心</a><a href="/invest/">招商引资</a></div>
<div class="crumbs">当前位置：<a href="/">首页</a> &gt; <a href="/news/">要闻动态</a></div>
<div class="main">
  <h1 class="title">{title}</h1>
  <div class="info"><span class="pubdate">发布时间：{date}</span> <span>来源：区政府办</span></div>
  <div class="article-content">
{body}  </div>
  <div class="share">分享到：微信 微博</div>
  <div class="related"><h3>相关新闻</h3><ul>
    <li><a href="/news/old1.html">旧闻一</a><span>2018-03-04</span></li>
    <li><a href="/news/old2.html">旧闻二</a><span>2017-05-06</span></li></ul></div>
</div>
<div class="footer">版权所有：武汉市某区人民政府 2003-2025 鄂ICP备05003317号</div>
<script>var _hmt = _hmt || []; var stamp = '2020-02-02 10:00';</script>
</body></html>
"#
    )
}

/// A list page linking `links` (`(href, text)`), with an optional next-page link.
pub fn list<A: AsRef<str>, B: AsRef<str>>(
    charset: &str,
    links: &[(A, B)],
    next: Option<&str>,
) -> String {
    let items: String = links
        .iter()
        .map(|(href, text)| {
            let (href, text) = (href.as_ref(), text.as_ref());
            format!("<li><a href=\"{href}\">{text}</a><span>2025-07-02</span></li>\n")
        })
        .collect();
    let next = next.map_or(String::new(), |n| {
        format!("<a class=\"next\" href=\"{n}\">下一页</a>")
    });
    format!(
        r#"<!DOCTYPE html><html><head><meta charset="{charset}"><title>要闻动态</title></head><body>
<div class="top-nav"><a href="/">首页</a><a href="/about.html">概况</a></div>
<ul class="news-list">
{items}</ul>
<div class="pages">{next}</div>
<div class="footer">版权所有 2025</div>
</body></html>"#
    )
}

/// The `[[source]]` table for a fixture site whose list page is `list_url`.
pub fn source(name: &str, list_url: &str, extra: &str) -> String {
    format!(
        r#"
[[source]]
name = "{name}"
kind = "html"
url = "{list_url}"
schedule = "0 0 * * *"
links = "ul.news-list a"
next = "div.pages a.next"
max_pages = 5
title = "h1.title"
body = "div.article-content"
date = "span.pubdate"
{extra}
"#
    )
}
