//! Throughput of signal extraction (`newswatch::signals::extract`) over article text.
//!
//! The texts are the seed archive's records and the 49 labelled Chinese dev pages when
//! `../shared` is there, and generated investment-news paragraphs otherwise. Throughput is in
//! bytes of title and body per second; the store computes signals for every revision, so a
//! 150 MB backfill must spend well under 2 µs per KB here (above ~500 MiB/s).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

fn shared_texts() -> Vec<(String, String)> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let mut out = Vec::new();
    if let Ok(seed) = std::fs::read_to_string(shared.join("seeds/000_708f4c76f94c8937.txt")) {
        let lines: Vec<&str> = seed.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            if *l == "-"
                && let (Some(t), Some(b)) = (lines.get(i + 1), lines.get(i + 2))
            {
                out.push((t.to_string(), b.to_string()));
            }
        }
    }
    if let Ok(dir) = std::fs::read_dir(shared.join("datasets/zh-extraction/cleaned")) {
        let mut paths: Vec<_> = dir.filter_map(Result::ok).map(|e| e.path()).collect();
        paths.sort();
        for p in paths {
            if let Ok(raw) = std::fs::read_to_string(&p) {
                out.push((String::new(), newswatch::normalise::text(&raw)));
            }
        }
    }
    out
}

fn generated_texts() -> Vec<(String, String)> {
    let paragraph = "7月2日,武汉东湖高新区举行重大项目集中签约仪式,共签约项目12个,总投资326亿元,\
        其中亿元以上项目10个。某某新能源科技有限公司拟投资3.5亿美元(约合人民币24.5亿元)建设新能源汽车\
        动力电池生产基地,达产后预计年产值超50亿元。项目占地300亩,计划2025年3月开工建设。";
    (0..20)
        .map(|i| {
            (
                format!("光谷签约{i}个重大项目"),
                paragraph.repeat(5 + i % 7),
            )
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let mut texts = shared_texts();
    if texts.is_empty() {
        texts = generated_texts();
    }
    let bytes: usize = texts.iter().map(|(t, b)| t.len() + b.len()).sum();
    // Build the dictionaries outside the measurement, as the store does once.
    let extractor = newswatch::signals::Extractor::standard();
    let mut group = c.benchmark_group("signals");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("extract", |b| {
        b.iter(|| {
            for (title, body) in &texts {
                black_box(extractor.extract(black_box(title), black_box(body)));
            }
        })
    });
    let generated = generated_texts();
    let gen_bytes: usize = generated.iter().map(|(t, b)| t.len() + b.len()).sum();
    group.throughput(Throughput::Bytes(gen_bytes as u64));
    group.bench_function("extract_dense_news", |b| {
        b.iter(|| {
            for (title, body) in &generated {
                black_box(extractor.extract(black_box(title), black_box(body)));
            }
        })
    });
    group.finish();
    c.bench_function("signals/build_dictionaries", |b| {
        b.iter(
            || newswatch::signals::Extractor::new(&newswatch::signals::SignalSettings::default()),
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
