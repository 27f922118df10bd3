//! The investment signals of each article revision (amounts, stages, industries, regions,
//! companies), kept beside the article: `signals` tree, id ‖ revision → JSON.
//!
//! Signals are derived from the title and body when the revision is stored, with the
//! dictionaries configured then (`[signals]` in sources.toml), and written in the same
//! transaction as the revision, so every revision stored by this version has them. A revision
//! without them — stored by an older newswatch, or restored from its backup — gets them from
//! its text with the store's extractor when read ([`Store::signals_of`]). A revision pruned
//! from the history takes its signals with it.

use super::{ArticleId, Store, StoreError, corrupt, revision_key};
use crate::article::Article;
use crate::signals::{Extractor, Signals};
use std::sync::Arc;

/// One article for [`Store::insert_batch`]: the article, the digests it is pending for, and its
/// signals.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub article: Article,
    pub digests: Vec<String>,
    pub signals: Signals,
}

impl Store {
    /// This store with `extractor` (the built-in dictionaries plus `[signals]`) finding the
    /// signals of what [`Store::insert`] and [`Store::revise`] store, and of revisions read
    /// without stored signals.
    pub fn with_extractor(mut self, extractor: Arc<Extractor>) -> Store {
        self.extractor = extractor;
        self
    }

    /// The extractor this store finds signals with.
    pub fn extractor(&self) -> &Arc<Extractor> {
        &self.extractor
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
    /// found in its text when none are.
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
        assert_eq!(
            store.signals(id, 1).ok().flatten(),
            None,
            "pruned with its text"
        );
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
        // As an older newswatch left it: the revision without its signals.
        assert!(store.signals.remove(revision_key(id, 1)).is_ok());
        assert_eq!(store.signals(id, 1).ok().flatten(), None);
        let read = store.signals_of(id, &a).unwrap_or_default();
        assert_eq!(read.regions, vec!["花山生态新城".to_owned()]);
    }
}
