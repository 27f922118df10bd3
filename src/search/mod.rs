//! Full-text search over stored articles, Chinese-aware.
//!
//! One tantivy document per article (its latest revision). Title and body are indexed twice:
//! as *grams* (CJK unigrams and bigrams, Latin words, with positions), which decide exactly which
//! articles match, and as jieba *words*, which with the grams rank them by BM25, the title
//! weighted above the body. [`tokens`] explains the rules; in short, every term of a query must
//! occur in the title or the body, a CJK term as a substring (`营商环境` finds `优化营商环境`
//! however jieba segments it), a Latin word or number as a whole word, case-insensitively. So a
//! search finds every article holding the words and none without them.
//!
//! The index lives in its own folder. One process writes ([`SearchIndex::open`], which takes
//! tantivy's writer lock); any number read, in that process or others
//! ([`SearchIndex::open_read_only`]), while it writes. Each commit records a *watermark*, the
//! caller's position in the store up to which everything is indexed, so after a crash the caller
//! re-indexes from [`SearchIndex::last_indexed`] onwards: whatever was added after the last
//! commit is lost with the crash, never half-kept.

pub mod indexer;
mod query;
mod snippet;
mod tokens;

#[cfg(test)]
mod tests;

pub use snippet::Snippet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, Occur, PhraseQuery, Query as TantivyQuery,
    RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::store::{Compressor, ZstdCompressor};
use tantivy::{
    Index, IndexReader, IndexSettings, IndexWriter, ReloadPolicy, TantivyDocument, TantivyError,
    Term,
};
use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::is_nfkc_quick;

/// How much more a ranking word in the title counts than one in the body.
const TITLE_BOOST: f32 = 2.0;
/// What each query term found in the title adds to an article's score: more than BM25 over
/// every field can give one term (at most a few hundred at a million articles), so an article
/// holding a term in its title always ranks above one holding it in the body only, and among
/// those, relevance decides.
pub const TITLE_TIER: f32 = 10_000.0;
/// The writer's indexing memory, over all its threads; a segment is flushed when it is full.
const WRITER_MEMORY_BYTES: usize = 96 * 1024 * 1024;
/// Indexing threads at most (each needs at least 15 MB of the memory above).
const WRITER_THREADS: usize = 4;
/// Stored titles and bodies are compressed in blocks of this size with zstd at this level.
const DOCSTORE_BLOCK_BYTES: usize = 64 * 1024;
const DOCSTORE_ZSTD_LEVEL: i32 = 9;
/// Hits per page at most.
pub const MAX_LIMIT: usize = 1000;
/// Candidates from the ranking words checked at most, before the whole query is scored instead.
const CANDIDATES_MAX: usize = 16_384;
/// Results beyond this rank are not served (deep paging costs as much as collecting them all).
pub const MAX_OFFSET: usize = 100_000;

#[derive(Debug, Error)]
pub enum SearchError {
    #[error(
        "search index {path} is in use by another newswatch process (only one may write it; searching works alongside)"
    )]
    Locked { path: PathBuf },
    #[error("there is no search index at {path} yet: run `newswatch reindex` to build it")]
    Missing { path: PathBuf },
    #[error(
        "search index {path} was built by another version of newswatch: run `newswatch reindex` to rebuild it"
    )]
    Outdated { path: PathBuf },
    #[error("search index {path} was opened for reading only; it cannot be written")]
    ReadOnly { path: PathBuf },
    #[error("cannot search for {query:?}: {reason}")]
    BadQuery { query: String, reason: String },
    #[error("search index {path}: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: TantivyError,
    },
    #[error("search index {path}: {what}: {reason}")]
    Corrupt {
        path: PathBuf,
        what: String,
        reason: String,
    },
}

/// Signals found in an article, filterable where present.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexSignals {
    pub stages: Vec<String>,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    /// The amount the article is about, in yuan (e.g. the largest or the total investment).
    pub amount_cny: Option<f64>,
}

/// One article as indexed: its latest revision.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexDoc {
    /// The store's `ArticleId`.
    pub id: u64,
    pub revision: u32,
    pub title: String,
    pub body: String,
    pub date: NaiveDate,
    pub source: String,
    pub url: String,
    pub signals: IndexSignals,
}

/// A search: the text and optional filters, all of which must hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// Terms separated by spaces, all required; `"…"` keeps a phrase, `-word` excludes.
    pub text: String,
    pub source: Option<String>,
    /// Article dates from this day on.
    pub since: Option<NaiveDate>,
    /// Article dates up to and including this day.
    pub until: Option<NaiveDate>,
    /// Any of these stages (empty: no filter); likewise regions and industries.
    pub stages: Vec<String>,
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    /// Only articles with an amount of at least this many yuan.
    pub min_amount_cny: Option<f64>,
    pub limit: usize,
    pub offset: usize,
}

impl Query {
    /// The first 20 hits for `text`, unfiltered.
    pub fn new(text: impl Into<String>) -> Query {
        Query {
            text: text.into(),
            source: None,
            since: None,
            until: None,
            stages: Vec::new(),
            regions: Vec::new(),
            industries: Vec::new(),
            min_amount_cny: None,
            limit: 20,
            offset: 0,
        }
    }
}

/// Signal filters as a person names them (on the command line, in the web form), before the
/// dictionaries make them canonical.
#[derive(Debug, Clone, Default)]
pub struct SignalNames {
    /// Stage labels or English names: 签约, signing …
    pub stages: Vec<String>,
    /// Region names as the dictionaries know them; a region brings the ones inside it (武汉市:
    /// its districts and zones), a common name its canonical one (光谷: 东湖高新区).
    pub regions: Vec<String>,
    pub industries: Vec<String>,
    /// An amount as the digest filters write it: `10亿元`, `5000万美元`.
    pub min_amount: Option<String>,
}

/// A signal filter the dictionaries cannot read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnknownSignal {
    #[error(
        "{0:?}: not a stage (签约, 落户, 开工, 投产, 竣工, 揭牌, 推介, 增资, 政策, or their English names)"
    )]
    Stage(String),
    #[error("{0:?}: not a region the dictionaries know (add it under [signals] regions)")]
    Region(String),
    #[error("{0:?}: not an industry the dictionaries know (add it under [signals] industries)")]
    Industry(String),
    #[error("{0:?}: not an amount (write it like 10亿元, 5000万美元 or 3亿)")]
    Amount(String),
}

impl SignalNames {
    /// Sets these filters on `query`, as `extractor` (the configured dictionaries) reads them,
    /// the way `[[digest]]` filters are read.
    pub fn apply(
        &self,
        extractor: &crate::signals::Extractor,
        query: &mut Query,
    ) -> Result<(), UnknownSignal> {
        let add = |list: &mut Vec<String>, v: &str| {
            if !list.iter().any(|x| x == v) {
                list.push(v.to_owned());
            }
        };
        for s in self.stages.iter().filter(|s| !s.trim().is_empty()) {
            let stage: crate::signals::Stage =
                s.parse().map_err(|_| UnknownSignal::Stage(s.clone()))?;
            add(&mut query.stages, stage.label());
        }
        for r in self.regions.iter().filter(|r| !r.trim().is_empty()) {
            let within = extractor.regions_within(r.trim());
            if within.is_empty() {
                return Err(UnknownSignal::Region(r.clone()));
            }
            for w in within {
                add(&mut query.regions, w);
            }
        }
        for i in self.industries.iter().filter(|i| !i.trim().is_empty()) {
            let name = extractor
                .industry(i.trim())
                .ok_or_else(|| UnknownSignal::Industry(i.clone()))?;
            add(&mut query.industries, name);
        }
        if let Some(text) = self.min_amount.as_ref().filter(|t| !t.trim().is_empty()) {
            let min = crate::signals::parse_amount(text.trim())
                .map_err(|_| UnknownSignal::Amount(text.clone()))?;
            query.min_amount_cny = Some(min.amount * min.currency.approx_cny());
        }
        Ok(())
    }
}

/// One article found, best first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: u64,
    pub revision: u32,
    /// The title with what matched the query marked.
    pub title: Snippet,
    pub date: NaiveDate,
    pub source: String,
    pub url: String,
    pub snippet: Snippet,
    /// BM25 relevance; comparable within one search only.
    pub score: f32,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    revision: Field,
    title: Field,
    title_grams: Field,
    body: Field,
    body_grams: Field,
    /// Days since 0001-01-01 (CE), for range filters.
    date: Field,
    source: Field,
    url: Field,
    stages: Field,
    regions: Field,
    industries: Field,
    amount_cny: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let grams = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokens::GRAMS)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    // Ranking words need frequencies, not positions: phrases are matched on the grams.
    let words = TextOptions::default()
        .set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokens::WORDS)
                .set_index_option(IndexRecordOption::WithFreqs),
        )
        .set_stored();
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | STORED),
        revision: b.add_u64_field("revision", STORED),
        title: b.add_text_field("title", words.clone()),
        title_grams: b.add_text_field("title_grams", grams.clone()),
        body: b.add_text_field("body", words),
        body_grams: b.add_text_field("body_grams", grams),
        date: b.add_i64_field("date", INDEXED | FAST | STORED),
        source: b.add_text_field("source", STRING | STORED),
        url: b.add_text_field("url", STORED),
        stages: b.add_text_field("stages", STRING),
        regions: b.add_text_field("regions", STRING),
        industries: b.add_text_field("industries", STRING),
        // Named for what it holds; the name also tells indexes built before signals were
        // indexed (their field was `amount_cny`, always empty) to rebuild.
        amount_cny: b.add_f64_field("max_amount_cny", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// What each commit records besides the documents.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Payload {
    watermark: Option<u64>,
    /// A rebuild under way: how far it got (see [`SearchIndex::commit_rebuild`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rebuild: Option<Rebuild>,
}

/// How far a rebuild from the store got at its last commit, so one cut short (a restart, a
/// SIGKILL) resumes there instead of starting again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rebuild {
    /// The caller's store position when the rebuild began: the watermark once it is done.
    pub watermark: u64,
    /// Every article up to this id is indexed.
    pub through: u64,
}

fn day_number(date: NaiveDate) -> i64 {
    use chrono::Datelike;
    i64::from(date.num_days_from_ce())
}

/// `text` NFKC-folded, as the normaliser stores articles; already-folded text is borrowed.
fn folded(text: &str) -> std::borrow::Cow<'_, str> {
    match is_nfkc_quick(text.chars()) {
        unicode_normalization::IsNormalized::Yes => std::borrow::Cow::Borrowed(text),
        _ => std::borrow::Cow::Owned(text.nfkc().collect()),
    }
}

/// The search side of an index: cheap to clone and to share between threads.
#[derive(Clone)]
pub struct SearchReader {
    reader: IndexReader,
    fields: Fields,
    path: PathBuf,
}

/// An index opened for writing (and searching).
pub struct SearchIndex {
    index: Index,
    writer: Option<IndexWriter>,
    search: SearchReader,
}

impl SearchIndex {
    /// Opens the index in `dir` for writing, creating it (and `dir`) if missing. Fails with
    /// [`SearchError::Locked`] while another process writes it.
    pub fn open(dir: &Path) -> Result<SearchIndex, SearchError> {
        let err = tantivy_error(dir);
        std::fs::create_dir_all(dir).map_err(|e| err(TantivyError::from(e)))?;
        let (schema, fields) = schema();
        let directory = MmapDirectory::open(dir).map_err(|e| err(e.into()))?;
        let mut index = if Index::exists(&directory).map_err(|e| err(e.into()))? {
            open_existing(dir, directory, &schema)?
        } else {
            let settings = IndexSettings {
                docstore_compression: Compressor::Zstd(ZstdCompressor {
                    compression_level: Some(DOCSTORE_ZSTD_LEVEL),
                }),
                docstore_blocksize: DOCSTORE_BLOCK_BYTES,
                ..IndexSettings::default()
            };
            Index::builder()
                .schema(schema)
                .settings(settings)
                .create_in_dir(dir)
                .map_err(&err)?
        };
        register_tokenizers(&index);
        // Segments are searched in parallel, one thread a core.
        index.set_default_multithread_executor().map_err(&err)?;
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(WRITER_THREADS);
        let writer = index
            .writer_with_num_threads(threads, WRITER_MEMORY_BYTES)
            .map_err(|e| match e {
                TantivyError::LockFailure(..) => SearchError::Locked {
                    path: dir.to_owned(),
                },
                e => err(e),
            })?;
        // The writer reloads the reader itself after each commit, so searches see it at once.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(err)?;
        Ok(SearchIndex {
            index,
            writer: Some(writer),
            search: SearchReader {
                reader,
                fields,
                path: dir.to_owned(),
            },
        })
    }

    /// Opens the index in `dir` for searching only, without the writer lock, so it works while
    /// another process (the daemon) writes. Commits made there are seen within about a second.
    pub fn open_read_only(dir: &Path) -> Result<SearchIndex, SearchError> {
        let err = tantivy_error(dir);
        let (schema, fields) = schema();
        let missing = || SearchError::Missing {
            path: dir.to_owned(),
        };
        if !dir.is_dir() {
            return Err(missing());
        }
        let directory = MmapDirectory::open(dir).map_err(|e| err(e.into()))?;
        if !Index::exists(&directory).map_err(|e| err(e.into()))? {
            return Err(missing());
        }
        let mut index = open_existing(dir, directory, &schema)?;
        register_tokenizers(&index);
        // Segments are searched in parallel, one thread a core.
        index.set_default_multithread_executor().map_err(&err)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(err)?;
        Ok(SearchIndex {
            index,
            writer: None,
            search: SearchReader {
                reader,
                fields,
                path: dir.to_owned(),
            },
        })
    }

    /// Removes an index that cannot be opened any more ([`SearchError::Outdated`]) so that
    /// [`SearchIndex::open`] creates a new one. Only tantivy's own files are removed.
    pub fn remove(dir: &Path) -> Result<(), SearchError> {
        let err = tantivy_error(dir);
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(err(e.into())),
        };
        for entry in entries {
            let entry = entry.map_err(|e| err(e.into()))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ours = name == "meta.json"
                || name == ".managed.json"
                || name.starts_with(".tantivy-")
                || name.split('.').next().is_some_and(|stem| {
                    stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit())
                });
            if ours {
                std::fs::remove_file(entry.path()).map_err(|e| err(e.into()))?;
            }
        }
        Ok(())
    }

    fn writer(&mut self) -> Result<&mut IndexWriter, SearchError> {
        self.writer.as_mut().ok_or_else(|| SearchError::ReadOnly {
            path: self.search.path.clone(),
        })
    }

    /// Adds `docs`, each replacing whatever was indexed under its id. Visible to searches, and
    /// durable, after the next [`SearchIndex::commit`].
    pub fn index(&mut self, docs: &[IndexDoc]) -> Result<(), SearchError> {
        let f = self.search.fields;
        let err = tantivy_error(&self.search.path);
        let writer = self.writer()?;
        for d in docs {
            writer.delete_term(Term::from_field_u64(f.id, d.id));
            let mut doc = TantivyDocument::default();
            let title = folded(&d.title);
            let body = folded(&d.body);
            doc.add_u64(f.id, d.id);
            doc.add_u64(f.revision, u64::from(d.revision));
            doc.add_text(f.title, &title);
            doc.add_text(f.title_grams, &title);
            doc.add_text(f.body, &body);
            doc.add_text(f.body_grams, &body);
            doc.add_i64(f.date, day_number(d.date));
            doc.add_text(f.source, &d.source);
            doc.add_text(f.url, &d.url);
            for (field, values) in [
                (f.stages, &d.signals.stages),
                (f.regions, &d.signals.regions),
                (f.industries, &d.signals.industries),
            ] {
                for v in values {
                    doc.add_text(field, v);
                }
            }
            if let Some(amount) = d.signals.amount_cny.filter(|a| a.is_finite()) {
                doc.add_f64(f.amount_cny, amount);
            }
            writer.add_document(doc).map_err(&err)?;
        }
        Ok(())
    }

    /// Removes the article `id` from the index (at the next commit).
    pub fn remove_article(&mut self, id: u64) -> Result<(), SearchError> {
        let field = self.search.fields.id;
        self.writer()?.delete_term(Term::from_field_u64(field, id));
        Ok(())
    }

    /// Makes everything indexed so far durable and searchable, recording `watermark` (the
    /// caller's store position up to which everything is now indexed).
    pub fn commit(&mut self, watermark: u64) -> Result<(), SearchError> {
        self.commit_payload(Payload {
            watermark: Some(watermark),
            rebuild: None,
        })
    }

    /// Makes everything indexed so far durable and searchable in the middle of a rebuild,
    /// recording how far it got; the index has no watermark until [`SearchIndex::commit`].
    pub fn commit_rebuild(&mut self, rebuild: Rebuild) -> Result<(), SearchError> {
        self.commit_payload(Payload {
            watermark: None,
            rebuild: Some(rebuild),
        })
    }

    fn commit_payload(&mut self, payload: Payload) -> Result<(), SearchError> {
        let err = tantivy_error(&self.search.path);
        let payload = serde_json::to_string(&payload).map_err(|e| SearchError::Corrupt {
            path: self.search.path.clone(),
            what: "commit payload".into(),
            reason: e.to_string(),
        })?;
        let writer = self.writer()?;
        let mut prepared = writer.prepare_commit().map_err(&err)?;
        prepared.set_payload(&payload);
        prepared.commit().map_err(&err)?;
        self.search.reader.reload().map_err(err)
    }

    /// Empties the index (for a rebuild) and forgets the watermark, durably.
    pub fn clear(&mut self) -> Result<(), SearchError> {
        let err = tantivy_error(&self.search.path);
        self.writer()?.delete_all_documents().map_err(err)?;
        self.commit_payload(Payload::default())
    }

    /// The watermark of the last commit: `None` for a new or cleared index, or one whose
    /// rebuild is not finished.
    pub fn last_indexed(&self) -> Result<Option<u64>, SearchError> {
        Ok(payload(&self.index, &self.search.path)?.watermark)
    }

    /// The rebuild under way at the last commit, if any.
    pub fn rebuild_progress(&self) -> Result<Option<Rebuild>, SearchError> {
        Ok(payload(&self.index, &self.search.path)?.rebuild)
    }

    /// Waits for background segment merges to finish and releases the writer lock.
    pub fn close(mut self) -> Result<(), SearchError> {
        if let Some(writer) = self.writer.take() {
            writer
                .wait_merging_threads()
                .map_err(tantivy_error(&self.search.path))?;
        }
        Ok(())
    }

    /// A handle for searching, to share with other threads.
    pub fn reader(&self) -> SearchReader {
        self.search.clone()
    }

    /// See [`SearchReader::search`].
    pub fn search(&self, query: &Query) -> Result<Vec<Hit>, SearchError> {
        self.search.search(query)
    }

    /// Articles searchable now.
    pub fn len(&self) -> u64 {
        self.search.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn payload(index: &Index, path: &Path) -> Result<Payload, SearchError> {
    let metas = index.load_metas().map_err(tantivy_error(path))?;
    match metas.payload {
        None => Ok(Payload::default()),
        Some(p) => serde_json::from_str::<Payload>(&p).map_err(|e| SearchError::Corrupt {
            path: path.to_owned(),
            what: "commit payload".into(),
            reason: e.to_string(),
        }),
    }
}

fn tantivy_error(path: &Path) -> impl Fn(TantivyError) -> SearchError + use<> {
    let path = path.to_owned();
    move |source| SearchError::Index {
        path: path.clone(),
        source,
    }
}

fn open_existing(
    dir: &Path,
    directory: MmapDirectory,
    schema: &Schema,
) -> Result<Index, SearchError> {
    let index = Index::open(directory).map_err(|e| match e {
        // An index this build cannot even read (another tantivy format) is outdated too.
        TantivyError::IncompatibleIndex(_) => SearchError::Outdated {
            path: dir.to_owned(),
        },
        e => tantivy_error(dir)(e),
    })?;
    if index.schema() != *schema {
        return Err(SearchError::Outdated {
            path: dir.to_owned(),
        });
    }
    Ok(index)
}

/// Those of `candidates` (best first) that `check` matches, in the same order, each with its
/// tier: how many of `in_title` (one per positive term) match it too.
fn checked(
    searcher: &tantivy::Searcher,
    check: &dyn tantivy::query::Weight,
    in_title: &[Box<dyn tantivy::query::Weight>],
    candidates: &[(f32, tantivy::DocAddress)],
) -> tantivy::Result<Vec<(f32, tantivy::DocAddress, usize)>> {
    use tantivy::DocSet as _;
    let mut by_doc: Vec<(tantivy::DocAddress, usize)> = candidates
        .iter()
        .enumerate()
        .map(|(i, (_, a))| (*a, i))
        .collect();
    by_doc.sort_unstable();
    let mut tier: Vec<Option<usize>> = vec![None; candidates.len()];
    let mut segment = None;
    let mut scorers: Vec<Box<dyn tantivy::query::Scorer>> = Vec::new();
    for (address, i) in by_doc {
        if segment != Some(address.segment_ord) {
            segment = Some(address.segment_ord);
            let reader = searcher.segment_reader(address.segment_ord);
            scorers = std::iter::once(check)
                .chain(in_title.iter().map(|w| w.as_ref()))
                .map(|w| w.scorer(reader, 1.0))
                .collect::<tantivy::Result<_>>()?;
        }
        // A segment's candidates come in increasing order; a scorer only moves forward.
        let holds = |s: &mut Box<dyn tantivy::query::Scorer>| {
            if s.doc() < address.doc_id {
                s.seek(address.doc_id);
            }
            s.doc() == address.doc_id
        };
        if let Some((first, titles)) = scorers.split_first_mut()
            && holds(first)
        {
            let mut n = 0;
            for s in titles.iter_mut() {
                n += usize::from(holds(s));
            }
            tier[i] = Some(n);
        }
    }
    Ok(candidates
        .iter()
        .zip(tier)
        .filter_map(|(&(score, address), t)| Some((score, address, t?)))
        .collect())
}

fn register_tokenizers(index: &Index) {
    index
        .tokenizers()
        .register(tokens::GRAMS, tokens::GRAMS_ANALYZER);
    index
        .tokenizers()
        .register(tokens::WORDS, tokens::WORDS_ANALYZER);
}

impl SearchReader {
    /// The watermark of the last commit, as [`SearchIndex::last_indexed`].
    pub fn last_indexed(&self) -> Result<Option<u64>, SearchError> {
        Ok(payload(self.reader.searcher().index(), &self.path)?.watermark)
    }

    /// Articles searchable now.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The articles holding every term of `query.text` (in title or body) and passing its
    /// filters, best first, `query.limit` of them from `query.offset`.
    pub fn search(&self, query: &Query) -> Result<Vec<Hit>, SearchError> {
        let bad = |reason: String| SearchError::BadQuery {
            query: query.text.clone(),
            reason,
        };
        if query.limit == 0 || query.limit > MAX_LIMIT {
            return Err(bad(format!(
                "the limit must be between 1 and {MAX_LIMIT}, not {}",
                query.limit
            )));
        }
        if query.offset > MAX_OFFSET {
            return Err(bad(format!(
                "results beyond the first {MAX_OFFSET} are not served (offset {})",
                query.offset
            )));
        }
        if let (Some(since), Some(until)) = (query.since, query.until)
            && since > until
        {
            return Err(bad(format!(
                "the start date {since} is after the end date {until}"
            )));
        }
        if let Some(a) = query.min_amount_cny
            && !a.is_finite()
        {
            return Err(bad(format!("the minimum amount {a} is not a number")));
        }
        let terms = query::parse(&query.text).map_err(|p| bad(p.to_string()))?;
        let searcher = self.reader.searcher();
        let top = self
            .best(&searcher, &terms, query)
            .map_err(tantivy_error(&self.path))?;
        let positive: Vec<Vec<tokens::Unit<'_>>> = terms
            .iter()
            .filter(|t| !t.excluded)
            .map(|t| t.units())
            .collect();
        let f = self.fields;
        let err = tantivy_error(&self.path);
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(&err)?;
            let text = |field: Field| {
                doc.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            let corrupt = |what: &str| SearchError::Corrupt {
                path: self.path.clone(),
                what: format!("document {address:?}"),
                reason: format!("no {what} stored"),
            };
            let id = doc
                .get_first(f.id)
                .and_then(|v| v.as_u64())
                .ok_or_else(|| corrupt("id"))?;
            let date = doc
                .get_first(f.date)
                .and_then(|v| v.as_i64())
                .and_then(|d| i32::try_from(d).ok())
                .and_then(NaiveDate::from_num_days_from_ce_opt)
                .ok_or_else(|| corrupt("date"))?;
            let revision = doc
                .get_first(f.revision)
                .and_then(|v| v.as_u64())
                .and_then(|r| u32::try_from(r).ok())
                .unwrap_or(0);
            let body = text(f.body);
            hits.push(Hit {
                id,
                revision,
                title: snippet::whole(&text(f.title), &positive),
                date,
                source: text(f.source),
                url: text(f.url),
                snippet: snippet::snippet(&body, &positive),
                score,
            });
        }
        Ok(hits)
    }

    /// The `query.limit` best matches from `query.offset`, with their scores.
    ///
    /// A match scores [`TITLE_TIER`] for each term in its title (its *tier*) plus BM25 over the
    /// words, so every match of a higher tier outranks every match of a lower one. Scoring every
    /// match is what costs when a word stands in most articles, so the search starts from
    /// *candidates*: the best articles by the words alone, which tantivy collects with block-max
    /// WAND (skipping blocks of articles that cannot reach the page). Each candidate is checked
    /// against the whole query (the exact phrases, the filters) and given its tier. Going down
    /// from the highest tier, a tier with enough checked candidates fills the page with them
    /// (their word scores order them exactly as the whole score does); a tier with too few is
    /// scored whole, with the tiers above it (titles are short, so few articles hold the terms
    /// there). When the candidates run out first (a narrow filter; matches that hold the terms
    /// only as substrings of other words and score 0), more are taken, and past
    /// [`CANDIDATES_MAX`] the whole query is scored: the answer is always what scoring every
    /// match gives.
    fn best(
        &self,
        searcher: &tantivy::Searcher,
        terms: &[query::Term],
        q: &Query,
    ) -> tantivy::Result<Vec<(f32, tantivy::DocAddress)>> {
        let need = q.offset + q.limit;
        let page = |mut all: Vec<(f32, tantivy::DocAddress)>| {
            all.drain(..q.offset.min(all.len()));
            all.truncate(q.limit);
            all
        };
        let top = |query: &dyn TantivyQuery, n: usize| {
            searcher.search(query, &TopDocs::with_limit(n).order_by_score())
        };
        let whole = || BooleanQuery::new(self.whole(terms, q));
        let ranking = self.ranking(terms);
        if !ranking.is_empty() {
            let scoring = tantivy::query::EnableScoring::enabled_from_searcher(searcher);
            let check = whole().weight(scoring)?;
            let in_title = terms
                .iter()
                .filter(|t| !t.excluded)
                .map(|t| self.phrase(t, self.fields.title_grams).weight(scoring))
                .collect::<tantivy::Result<Vec<_>>>()?;
            let words = BooleanQuery::new(ranking);
            let mut k = (4 * need).max(64);
            while k <= CANDIDATES_MAX {
                let candidates = top(&words, k)?;
                let exhausted = candidates.len() < k;
                let checked = checked(searcher, check.as_ref(), &in_title, &candidates)?;
                if let Some(found) = self.by_tier(searcher, terms, q, need, &checked)? {
                    return Ok(page(found));
                }
                // Where few candidates match (a rare second term, a narrow filter), even the
                // most candidates would not fill the page at this rate: score the whole query,
                // which such a term or filter makes cheap.
                if exhausted || checked.len() * CANDIDATES_MAX < need * k {
                    break;
                }
                k *= 4;
            }
        }
        Ok(page(top(&whole(), need)?))
    }

    /// The `need` best matches from `checked` (candidates that match, best first by their
    /// words, with their tiers), scoring a tier whole where it has too few candidates; `None`
    /// when the candidates do not reach far enough down.
    fn by_tier(
        &self,
        searcher: &tantivy::Searcher,
        terms: &[query::Term],
        q: &Query,
        need: usize,
        checked: &[(f32, tantivy::DocAddress, usize)],
    ) -> tantivy::Result<Option<Vec<(f32, tantivy::DocAddress)>>> {
        let positive: Vec<&query::Term> = terms.iter().filter(|t| !t.excluded).collect();
        let mut found: Vec<(f32, tantivy::DocAddress)> = Vec::new();
        for tier in (0..=positive.len()).rev() {
            let left = need - found.len();
            let members: Vec<(f32, tantivy::DocAddress)> = checked
                .iter()
                .filter(|c| c.2 == tier)
                .map(|&(s, a, _)| (s + TITLE_TIER * tier as f32, a))
                .collect();
            if members.len() >= left {
                found.extend(members.into_iter().take(left));
                return Ok(Some(found));
            }
            if tier == 0 {
                return Ok(None);
            }
            // Every match with at least `tier` terms in its title, exactly ranked: this tier
            // and the ones above it (already in `found`, and first again here).
            let titles = positive
                .iter()
                .map(|t| self.phrase(t, self.fields.title_grams))
                .collect();
            let mut clauses = self.whole(terms, q);
            clauses.push((
                Occur::Must,
                Box::new(ConstScoreQuery::new(
                    Box::new(BooleanQuery::union_with_minimum_required_clauses(
                        titles, tier,
                    )),
                    0.0,
                )),
            ));
            found = searcher.search(
                &BooleanQuery::new(clauses),
                &TopDocs::with_limit(need).order_by_score(),
            )?;
            if found.len() >= need {
                return Ok(Some(found));
            }
        }
        Ok(Some(found))
    }

    /// The whole query: what matches ([`Self::matching`]) and what ranks ([`Self::ranking`]).
    fn whole(&self, terms: &[query::Term], q: &Query) -> Vec<(Occur, Box<dyn TantivyQuery>)> {
        let mut clauses = self.matching(terms, q);
        clauses.extend(self.ranking(terms));
        clauses
    }

    /// Where `term` occurs in `field` (a grams field): a gram, or grams in a row.
    fn phrase(&self, term: &query::Term, field: Field) -> Box<dyn TantivyQuery> {
        let units = term.units();
        let mut t: Vec<(usize, Term)> = tokens::query_grams(&units)
            .iter()
            .map(|(offset, g)| (*offset, Term::from_field_text(field, g)))
            .collect();
        if t.len() == 1 {
            let (_, only) = t.remove(0);
            Box::new(TermQuery::new(only, IndexRecordOption::WithFreqs))
        } else {
            Box::new(PhraseQuery::new_with_offset(t))
        }
    }

    /// What ranks: each positive term's words, where jieba finds them as words, in the title
    /// (weighted) and the body. Term queries only, so tantivy can prune with block-max WAND.
    fn ranking(&self, terms: &[query::Term]) -> Vec<(Occur, Box<dyn TantivyQuery>)> {
        let f = self.fields;
        let mut seen = std::collections::HashSet::new();
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        for term in terms.iter().filter(|t| !t.excluded) {
            for w in tokens::words(&term.text) {
                if !seen.insert(w.text.clone()) {
                    continue;
                }
                for (field, boost) in [(f.title, TITLE_BOOST), (f.body, 1.0)] {
                    let tq = TermQuery::new(
                        Term::from_field_text(field, &w.text),
                        IndexRecordOption::WithFreqs,
                    );
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(tq), boost)),
                    ));
                }
            }
        }
        clauses
    }

    /// What decides whether an article matches: every positive term in the title (scoring
    /// [`TITLE_TIER`]) or the body, no excluded term in either, and the filters.
    fn matching(&self, terms: &[query::Term], q: &Query) -> Vec<(Occur, Box<dyn TantivyQuery>)> {
        let f = self.fields;
        let mut clauses: Vec<(Occur, Box<dyn TantivyQuery>)> = Vec::new();
        for term in terms {
            // Title or body: a query with only `Should` clauses needs one of them to match.
            let either = BooleanQuery::new(vec![
                (
                    Occur::Should,
                    Box::new(ConstScoreQuery::new(
                        self.phrase(term, f.title_grams),
                        TITLE_TIER,
                    )),
                ),
                // Matching only: scoring a phrase counts every occurrence in every matching
                // article, while existence stops at the first; the words rank.
                (
                    Occur::Should,
                    Box::new(ConstScoreQuery::new(self.phrase(term, f.body_grams), 0.0)),
                ),
            ]);
            let occur = if term.excluded {
                Occur::MustNot
            } else {
                Occur::Must
            };
            clauses.push((occur, Box::new(either)));
        }
        let mut filter = |q: Box<dyn TantivyQuery>| {
            clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(q, 0.0))));
        };
        if let Some(source) = &q.source {
            filter(Box::new(TermQuery::new(
                Term::from_field_text(f.source, source),
                IndexRecordOption::Basic,
            )));
        }
        if q.since.is_some() || q.until.is_some() {
            let bound = |d: Option<NaiveDate>| match d {
                Some(d) => Bound::Included(Term::from_field_i64(f.date, day_number(d))),
                None => Bound::Unbounded,
            };
            filter(Box::new(RangeQuery::new(bound(q.since), bound(q.until))));
        }
        for (field, values) in [
            (f.stages, &q.stages),
            (f.regions, &q.regions),
            (f.industries, &q.industries),
        ] {
            if !values.is_empty() {
                filter(Box::new(TermSetQuery::new(
                    values.iter().map(|v| Term::from_field_text(field, v)),
                )));
            }
        }
        if let Some(min) = q.min_amount_cny {
            filter(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_f64(f.amount_cny, min)),
                Bound::Unbounded,
            )));
        }
        clauses
    }
}
