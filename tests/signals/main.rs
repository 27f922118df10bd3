//! The labelled evaluation set of `newswatch::signals` loads, and the extractor meets the
//! issue's targets on it. The numbers per half are printed by
//! `cargo run --release --example eval_signals`.

mod labels;

#[test]
fn evaluation_set_loads_and_meets_the_targets() {
    let loaded = labels::load().expect("labels load");
    if loaded.shared_missing {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "../shared is missing under CI=true: the evaluation texts must be there"
        );
        eprintln!("skipped: ../shared is absent; scoring the written cases only");
    } else {
        // The shared texts are labelled by reference; every reference resolved above.
        assert!(loaded.docs.iter().any(|d| d.id.starts_with("seed:")));
        assert!(loaded.docs.iter().any(|d| d.id.starts_with("cleaned:")));
        assert!(
            labels::amount_labels(&loaded.docs) >= 300,
            "{} labelled amounts",
            labels::amount_labels(&loaded.docs)
        );
    }
    // The targets hold on the whole labelled set; each half is held to them too, with a
    // little room on the held-out half so that one new hard case does not turn the suite red
    // (the exact numbers per half are printed by the example and kept in docs/signals.md).
    let (a, misses_a) = labels::evaluate(&loaded.docs, 'A');
    let (b, misses_b) = labels::evaluate(&loaded.docs, 'B');
    let why = || {
        misses_a
            .iter()
            .chain(&misses_b)
            .map(|m| format!("{} {} {} {} {}", m.doc, m.kind, m.what, m.value, m.context))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let sum = |x: labels::Score, y: labels::Score| labels::Score {
        docs: x.docs + y.docs,
        tp: x.tp + y.tp,
        fp: x.fp + y.fp,
        fn_: x.fn_ + y.fn_,
    };
    let amounts = sum(a[0], b[0]);
    let stages = sum(a[1], b[1]);
    let regions = sum(a[2], b[2]);
    assert!(amounts.docs > 0 && stages.docs > 0 && regions.docs > 0);
    assert!(
        amounts.precision() >= 0.98,
        "amounts precision {:.3}\n{}",
        amounts.precision(),
        why()
    );
    assert!(
        amounts.recall() >= 0.95,
        "amounts recall {:.3}\n{}",
        amounts.recall(),
        why()
    );
    assert!(
        stages.recall() >= 0.9,
        "stages recall {:.3}\n{}",
        stages.recall(),
        why()
    );
    assert!(
        regions.recall() >= 0.9,
        "regions recall {:.3}\n{}",
        regions.recall(),
        why()
    );
    for (half, s) in [('A', a), ('B', b)] {
        assert!(
            s[0].precision() >= 0.96,
            "half {half} amounts precision {:.3}\n{}",
            s[0].precision(),
            why()
        );
        assert!(
            s[0].recall() >= 0.95,
            "half {half} amounts recall {:.3}\n{}",
            s[0].recall(),
            why()
        );
        assert!(
            s[1].recall() >= 0.9,
            "half {half} stages recall {:.3}\n{}",
            s[1].recall(),
            why()
        );
        assert!(
            s[2].recall() >= 0.9,
            "half {half} regions recall {:.3}\n{}",
            s[2].recall(),
            why()
        );
    }
}

#[test]
fn every_labelled_doc_is_extracted_the_same_way_twice() {
    // The extractor keeps no state between articles.
    let loaded = labels::load().expect("labels load");
    for d in loaded.docs.iter().take(20) {
        let a = newswatch::signals::extract(&d.title, &d.body);
        let b = newswatch::signals::extract(&d.title, &d.body);
        assert_eq!(a, b, "{}", d.id);
    }
}
