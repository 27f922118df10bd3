//! Throughput of automatic extraction: parse a page and pull title, body and date from it, and
//! the whole path a fetched page takes (`read_page`: charset detection included).
//!
//! The pages are built here from a template shaped like a Chinese government/news site (menus,
//! breadcrumbs, a byline line, a share bar, related news, a copyright footer, scripts), filled
//! with the article texts of `../shared/seeds/000_708f4c76f94c8937.txt` when that file exists
//! and with generated sentences otherwise. Throughput is reported in bytes of HTML per second.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use newswatch::extract::auto;
use std::hint::black_box;
use std::path::Path;

/// (title, date, body) triples from the seeds file: records of `-`, title, body, date lines.
fn seed_articles() -> Vec<(String, String, String)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds/000_708f4c76f94c8937.txt");
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    lines
        .chunks(4)
        .filter_map(|c| match c {
            ["-", title, body, date] => {
                Some((title.to_string(), date.to_string(), body.to_string()))
            }
            _ => None,
        })
        .take(8)
        .collect()
}

fn generated_articles() -> Vec<(String, String, String)> {
    let sentence = "今年以来，硚口区坚持把优化营商环境作为一把手工程，聚焦企业反映的痛点、堵点问题，推出一系列务实举措。";
    (0..5)
        .map(|i| {
            (
                format!("硚口区优化营商环境工作简报第{i}期"),
                format!("2025-07-0{}", i + 1),
                sentence.repeat(20 + 10 * i),
            )
        })
        .collect()
}

fn page(title: &str, date: &str, body: &str) -> String {
    let mut paragraphs = String::new();
    let mut para = String::new();
    for (i, sentence) in body.split_inclusive('。').enumerate() {
        para.push_str(sentence);
        if i % 3 == 2 {
            paragraphs.push_str(&format!("<p style=\"text-indent:2em\">{para}</p>\n"));
            para.clear();
        }
    }
    if !para.is_empty() {
        paragraphs.push_str(&format!("<p>{para}</p>\n"));
    }
    let menu: String = (0..12)
        .map(|i| format!("<li><a href=\"/col{i}/\">栏目{i}</a></li>"))
        .collect();
    let related: String = (0..10)
        .map(|i| {
            format!("<li><a href=\"/xw/202506/t202506{i:02}_1.html\">相关新闻标题第{i}条关于营商环境</a><span>2025-06-{:02}</span></li>", i + 1)
        })
        .collect();
    format!(
        r##"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}_硚口区人民政府</title>
<meta name="PubDate" content="{date} 09:30"><meta name="ColumnName" content="工作动态">
<link rel="stylesheet" href="/css/main.css"><style>.nav li{{float:left}} .main{{width:1200px}}</style>
<script>var _hmt = _hmt || []; (function() {{ var hm = document.createElement("script"); }})();</script>
</head><body>
<div class="header"><div class="logo"><img src="/logo.png" alt="硚口区人民政府"></div>
<ul class="nav">{menu}</ul><div class="search"><form action="/search"><input name="q"><button>搜索</button></form></div></div>
<div class="main"><div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/xw/">新闻中心</a> &gt; 工作动态</div>
<div class="article"><h1>{title}</h1>
<div class="info">发布时间：{date} 09:30 来源：硚口区融媒体中心 【字号：<a href="#">大</a> <a href="#">中</a> <a href="#">小</a>】 <a href="javascript:print()">打印本页</a></div>
<div class="TRS_Editor">{paragraphs}</div>
<div class="share">分享到：<a href="#">微信</a><a href="#">微博</a><a href="#">QQ空间</a></div>
<div class="prev-next"><p>上一篇：<a href="/xw/1.html">关于开展安全生产大检查的通知</a></p><p>下一篇：<a href="/xw/2.html">硚口区召开防汛工作会议</a></p></div>
</div>
<div class="related"><h3>相关新闻</h3><ul>{related}</ul></div></div>
<div class="footer"><p>主办：武汉市硚口区人民政府办公室 版权所有 鄂ICP备05003321号</p><p>地址：武汉市硚口区京汉大道 电话：027-83844210</p></div>
<script src="/js/jquery.min.js"></script><script>$(function(){{ $('.nav li').hover(function(){{}}); }});</script>
</body></html>"##
    )
}

fn bench_extract(c: &mut Criterion) {
    let mut articles = seed_articles();
    if articles.is_empty() {
        articles = generated_articles();
    }
    let pages: Vec<String> = articles.iter().map(|(t, d, b)| page(t, d, b)).collect();
    let bytes: usize = pages.iter().map(String::len).sum();
    let mut group = c.benchmark_group("auto");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("parse+article", |b| {
        b.iter(|| {
            for p in &pages {
                let doc = newswatch::extract::parse_document(black_box(p));
                black_box(auto::article(&doc, None));
            }
        })
    });
    // The path every page takes into the store: charset detection, parsing, extraction. The
    // GBK copies declare nothing, so detection reads them.
    let utf8: Vec<Vec<u8>> = pages.iter().map(|p| p.clone().into_bytes()).collect();
    let gbk: Vec<Vec<u8>> = pages
        .iter()
        .map(|p| {
            let undeclared = p.replace("<meta charset=\"utf-8\">", "");
            encoding_rs::GB18030.encode(&undeclared).0.into_owned()
        })
        .collect();
    let url = url::Url::parse("http://www.example.gov.cn/xw/202507/t20250702_1.html")
        .unwrap_or_else(|e| unreachable!("{e}"));
    let hints = newswatch::extract::PageHints::default();
    let selectors = newswatch::extract::FieldSelectors::default();
    let gbk_bytes: usize = gbk.iter().map(Vec::len).sum();
    for (name, set, size) in [
        ("read_page utf-8", &utf8, bytes),
        ("read_page gbk undeclared", &gbk, gbk_bytes),
    ] {
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for p in set.iter() {
                    black_box(newswatch::extract::read_page(
                        black_box(p),
                        None,
                        None,
                        &url,
                        &selectors,
                        &hints,
                    ));
                }
            })
        });
    }
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("parse only", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(newswatch::extract::parse_document(black_box(p)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_extract);
criterion_main!(benches);
