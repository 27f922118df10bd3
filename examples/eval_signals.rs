//! Precision and recall of `newswatch::signals` on the labelled set in `tests/signals/`, for the
//! tuning half (A) and the held-out half (B).
//!
//! ```sh
//! cargo run --release --example eval_signals            # the table
//! cargo run --release --example eval_signals -- --errors A   # and every disagreement in half A
//! cargo run --release --example eval_signals -- --dump       # what is found in each text
//! ```

#[path = "../tests/signals/labels.rs"]
mod labels;

use labels::{KINDS, Score};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let loaded = match labels::load() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("eval_signals: {e}");
            std::process::exit(2);
        }
    };
    if loaded.shared_missing {
        eprintln!("eval_signals: ../shared is absent; scoring the written cases only");
    }
    if args.iter().any(|a| a == "--dump") {
        for d in &loaded.docs {
            let s = newswatch::signals::extract(&d.title, &d.body);
            println!("{} {}", d.id, serde_json::to_string(&s).unwrap_or_default());
        }
        return;
    }
    let docs = &loaded.docs;
    println!(
        "{} texts ({} seed records, {} dev pages, {} written cases), {} labelled amounts",
        docs.len(),
        docs.iter().filter(|d| d.id.starts_with("seed:")).count(),
        docs.iter().filter(|d| d.id.starts_with("cleaned:")).count(),
        docs.iter().filter(|d| d.id.starts_with("cases:")).count(),
        labels::amount_labels(docs)
    );
    println!();
    println!("| half | kind | texts | found right | found wrong | missed | precision | recall |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut all = Vec::new();
    for (half, name) in [('A', "A (tuning)"), ('B', "B (held out)")] {
        let (scores, misses) = labels::evaluate(docs, half);
        for (k, s) in KINDS.iter().zip(scores.iter()) {
            row(name, k, s);
        }
        all.push((half, misses));
    }
    for (half, misses) in all {
        if args
            .windows(2)
            .any(|w| w[0] == "--errors" && w[1] == half.to_string())
        {
            println!();
            for m in misses {
                println!(
                    "{half} {} {} {} {} | {}",
                    m.doc, m.kind, m.what, m.value, m.context
                );
            }
        }
    }
}

fn row(half: &str, kind: &str, s: &Score) {
    println!(
        "| {half} | {kind} | {} | {} | {} | {} | {:.3} | {:.3} |",
        s.docs,
        s.tp,
        s.fp,
        s.fn_,
        s.precision(),
        s.recall()
    );
}
