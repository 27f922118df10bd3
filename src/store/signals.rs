//! The investment signals of each article revision (amounts, stages, industries, regions,
//! companies), kept beside the article: `signals` tree, id ‖ revision → JSON.
//!
//! Signals are derived from the title and body, so they are written right after the article's
//! own transaction rather than inside it: a transaction over one more tree costs every import,
//! and what a crash between the two writes could lose is recomputed on reading. An article
//! with no signals stored — written by an older newswatch, or by such a crash — gets them from
//! its text with the store's extractor when read ([`Store::signals_of`]). Signals are computed
//! once, at store time, with the dictionaries configured then (`[signals]` in sources.toml).

use super::{ArticleId, Store, StoreError, corrupt, revision_key, to_json};
use crate::article::Article;
use crate::signals::{Extractor, Signals};
use std::sync::Arc;

impl Store {
    /// This store with `extractor` (the built-in dictionaries plus `[signals]`) computing the
    /// signals of the articles stored through [`Store::insert`] and [`Store::revise`] and of
    /// articles read without stored signals.
    pub fn with_extractor(mut self, extractor: Arc<Extractor>) -> Store {
        self.extractor = extractor;
        self
    }

    /// The extractor this store computes signals with.
    pub fn extractor(&self) -> &Extractor {
        &self.extractor
    }

    /// Keeps the signals of each `(id, revision)`, computed by the caller (an import computes
    /// them on its reading thread). One batch: all of them or none.
    pub fn keep_signals<'a>(
        &self,
        entries: impl IntoIterator<Item = (ArticleId, u32, &'a Signals)>,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (id, revision, signals) in entries {
            batch.insert(&revision_key(id, revision)[..], to_json(signals)?);
        }
        self.signals.apply_batch(batch)?;
        Ok(())
    }

    /// Computes and keeps the signals of revision `revision` of article `id`.
    pub(super) fn extract_signals(
        &self,
        id: ArticleId,
        revision: u32,
        article: &Article,
    ) -> Result<(), StoreError> {
        let signals = self.extractor.extract(&article.title, &article.body);
        self.keep_signals([(id, revision, &signals)])
    }

    /// Drops the signals of a revision no longer kept.
    pub(super) fn forget_signals(&self, id: ArticleId, revision: u32) -> Result<(), StoreError> {
        self.signals.remove(revision_key(id, revision))?;
        Ok(())
    }

    /// The stored signals of revision `revision` of article `id`, if any.
    pub fn signals(&self, id: ArticleId, revision: u32) -> Result<Option<Signals>, StoreError> {
        self.signals
            .get(revision_key(id, revision))?
            .map(|v| {
                serde_json::from_slice(&v)
                    .map_err(|e| corrupt(format!("signals of article {id} revision {revision}"), e))
            })
            .transpose()
    }

    /// The signals of `article` (revision `article.revision` of article `id`): stored, or
    /// computed from its text when none are.
    pub fn signals_of(&self, id: ArticleId, article: &Article) -> Result<Signals, StoreError> {
        Ok(match self.signals(id, article.revision)? {
            Some(s) => s,
            None => self.extractor.extract(&article.title, &article.body),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::{Currency, SignalSettings, Stage};
    use crate::store::Inserted;
    use chrono::{NaiveDate, Utc};
    use std::collections::BTreeMap;

    fn article(title: &str, body: &str) -> Article {
        let day = NaiveDate::from_ymd_opt(2025, 7, 2).unwrap_or_default();
        Article::new(title, body, day, None, "s", Utc::now())
    }

    #[test]
    fn each_revision_keeps_its_own_signals_and_pruned_ones_go() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let first = article("光谷签约项目", "总投资50亿元的项目在光谷签约。");
        let Ok(Inserted::New(id)) = store.insert(&first, &[], &[]) else {
            panic!("stored")
        };
        let s1 = store.signals(id, 1).ok().flatten().unwrap_or_default();
        assert_eq!(s1.amounts.len(), 1);
        assert_eq!(s1.amounts[0].amount, 5e9);
        assert_eq!(s1.stages, vec![Stage::Signing]);
        assert_eq!(s1.regions, vec!["东湖高新区".to_owned()]);
        let second = article("光谷签约项目", "总投资3亿美元的项目在光谷开工。");
        assert!(matches!(
            store.revise(id, &second, &[], &[], 2),
            Ok(Inserted::Revised { revision: 2, .. })
        ));
        let s2 = store.signals(id, 2).ok().flatten().unwrap_or_default();
        assert_eq!(s2.amounts[0].currency, Currency::Usd);
        assert!(s2.stages.contains(&Stage::Groundbreaking));
        // Revision 1 is still in the history, with its own signals.
        assert_eq!(store.signals(id, 1).ok().flatten(), Some(s1));
        let third = article("光谷签约项目", "总投资4亿美元的项目在光谷投产。");
        assert!(store.revise(id, &third, &[], &[], 2).is_ok());
        assert!(store.revisions(id).map(|r| r.len()).unwrap_or(0) == 2);
        assert_eq!(store.signals(id, 1).ok().flatten(), None, "pruned with its text");
    }

    #[test]
    fn an_article_without_stored_signals_gets_them_from_its_text() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut regions = BTreeMap::new();
        regions.insert("花山生态新城".to_owned(), vec!["花山新城".to_owned()]);
        let extractor = Extractor::new(&SignalSettings {
            regions,
            ..SignalSettings::default()
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(dir.path())
            .unwrap_or_else(|e| panic!("{e}"))
            .with_extractor(Arc::new(extractor));
        let a = article("花山新城项目", "项目落户花山新城。");
        let Ok(Inserted::New(id)) = store.insert(&a, &[], &[]) else {
            panic!("stored")
        };
        assert!(store.forget_signals(id, 1).is_ok());
        assert_eq!(store.signals(id, 1).ok().flatten(), None);
        let read = store.signals_of(id, &a).unwrap_or_default();
        assert_eq!(read.regions, vec!["花山生态新城".to_owned()]);
    }
}
