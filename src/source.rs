//! Source files: the text kgate read, its display path, and span → line:col / byte conversion.

use std::sync::{Arc, RwLock};

/// A position range inside one source file.
///
/// Lines and columns are 1-based and count characters (what an editor shows); `start`/`end` are
/// byte offsets into the file's text (what code frames need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    /// The [`SourceFile::id`] this span is in: rendered objects mix fields from many files.
    pub file: u32,
    pub line: u32,
    pub col: u32,
    pub end_line: u32,
    pub end_col: u32,
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// A span covering from the start of `self` to the end of `other`.
    pub fn to(self, other: Span) -> Span {
        Span {
            end_line: other.end_line,
            end_col: other.end_col,
            end: other.end,
            ..self
        }
    }
}

/// One file (or stdin, or a git blob) taking part in a run.
#[derive(Debug)]
pub struct SourceFile {
    /// Index in the run's [`Files`] registry.
    pub id: u32,
    /// The path as the user gave it or as it was found under a given directory.
    pub path: String,
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<String>, text: impl Into<Arc<str>>) -> SourceFile {
        Self::with_id(0, path, text)
    }

    pub fn with_id(id: u32, path: impl Into<String>, text: impl Into<Arc<str>>) -> SourceFile {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(memchr_newlines(&text));
        SourceFile {
            id,
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// Byte offset of a 1-based line and a 0-based character column, clamped to the text.
    pub fn byte_offset(&self, line: usize, char_col: usize) -> usize {
        let Some(&line_start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[line_start..];
        // ASCII up to the column (the usual case): the column is the byte count.
        if rest.len() > char_col && rest.as_bytes()[..char_col].is_ascii() {
            return line_start + char_col;
        }
        match rest.char_indices().nth(char_col) {
            Some((i, _)) => line_start + i,
            None => self.text.len(),
        }
    }

    /// The span of a 1-based (line, 0-based char col) range.
    pub fn span(&self, line: usize, col: usize, end_line: usize, end_col: usize) -> Span {
        Span {
            file: self.id,
            line: line as u32,
            col: col as u32 + 1,
            end_line: end_line as u32,
            end_col: end_col as u32 + 1,
            start: self.byte_offset(line, col),
            end: self.byte_offset(end_line, end_col),
        }
    }

    /// A span at one byte offset (used for errors found on raw bytes).
    pub fn span_at_byte(&self, offset: usize) -> Span {
        let offset = offset.min(self.text.len());
        let line_idx = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let col = self.text[self.line_starts[line_idx]..offset]
            .chars()
            .count();
        Span {
            file: self.id,
            line: line_idx as u32 + 1,
            col: col as u32 + 1,
            end_line: line_idx as u32 + 1,
            end_col: col as u32 + 1,
            start: offset,
            end: offset,
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// Every file of a run, by id. Files are added while loading and rendering (in parallel), and
/// read by reporters. A file can also be registered before it is read (a streamed file): its
/// text is read on first use, and let go again once it is checked.
#[derive(Default)]
pub struct Files {
    inner: RwLock<Inner>,
}

/// Reads a registered file's text when first asked for (None: it cannot be read now; whoever
/// reads it for real reports why).
pub type Reader = Arc<dyn Fn() -> Option<String> + Send + Sync>;

#[derive(Default)]
struct Inner {
    slots: Vec<Slot>,
    /// The latest id of each path (a path registered twice answers with its newest file).
    by_path: std::collections::HashMap<String, u32>,
}

enum Slot {
    Ready(Arc<SourceFile>),
    /// Registered, not read yet: `stub` has the id and path and no text.
    Pending {
        stub: Arc<SourceFile>,
        read: Reader,
    },
}

impl Slot {
    fn file(&self) -> &Arc<SourceFile> {
        match self {
            Slot::Ready(f) => f,
            Slot::Pending { stub, .. } => stub,
        }
    }
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("Files")
            .field("files", &inner.slots.len())
            .finish()
    }
}

impl Files {
    pub fn new() -> Files {
        Files::default()
    }

    pub fn add(&self, path: impl Into<String>, text: impl Into<Arc<str>>) -> Arc<SourceFile> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let id = inner.slots.len() as u32;
        let file = Arc::new(SourceFile::with_id(id, path, text));
        inner.by_path.insert(file.path.clone(), id);
        inner.slots.push(Slot::Ready(file.clone()));
        file
    }

    /// Registers a file whose text `read` gives when first needed.
    pub fn add_pending(&self, path: impl Into<String>, read: Reader) -> u32 {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let id = inner.slots.len() as u32;
        let stub = Arc::new(SourceFile::with_id(id, path, ""));
        inner.by_path.insert(stub.path.clone(), id);
        inner.slots.push(Slot::Pending { stub, read });
        id
    }

    /// Whether the file was registered and not read yet.
    pub fn is_pending(&self, id: u32) -> bool {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        matches!(inner.slots.get(id as usize), Some(Slot::Pending { .. }))
    }

    /// Gives a registered file its text (read by whoever registered it); returns the file.
    pub fn fill(&self, id: u32, text: impl Into<Arc<str>>) -> Option<Arc<SourceFile>> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let slot = inner.slots.get_mut(id as usize)?;
        let file = Arc::new(SourceFile::with_id(id, slot.file().path.clone(), text));
        *slot = Slot::Ready(file.clone());
        Some(file)
    }

    /// Lets go of a file's text once nothing needs it any more (a file checked as a stream, whose
    /// findings carry their own snippets): its id and path stay, its text becomes empty.
    pub fn release(&self, id: u32) {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = inner.slots.get_mut(id as usize) {
            let path = slot.file().path.clone();
            *slot = Slot::Ready(Arc::new(SourceFile::with_id(id, path, "")));
        }
    }

    pub fn get(&self, id: u32) -> Option<Arc<SourceFile>> {
        let read = {
            let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
            match inner.slots.get(id as usize)? {
                Slot::Ready(f) => return Some(f.clone()),
                Slot::Pending { read, .. } => read.clone(),
            }
        };
        // Read with no lock held; another thread may fill the slot meanwhile (then its file
        // wins, so every holder sees one text).
        let text = read()?;
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let slot = inner.slots.get_mut(id as usize)?;
        if let Slot::Pending { stub, .. } = slot {
            *slot = Slot::Ready(Arc::new(SourceFile::with_id(id, stub.path.clone(), text)));
        }
        Some(slot.file().clone())
    }

    /// The display path of a file id (empty when unknown).
    pub fn path(&self, id: u32) -> String {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner
            .slots
            .get(id as usize)
            .map(|s| s.file().path.clone())
            .unwrap_or_default()
    }

    /// Every file of the run; a file not read yet (or let go) has no text here.
    pub fn all(&self) -> Vec<Arc<SourceFile>> {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        inner.slots.iter().map(|s| s.file().clone()).collect()
    }

    pub fn by_path(&self, path: &str) -> Option<Arc<SourceFile>> {
        let id = {
            let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
            *inner.by_path.get(path)?
        };
        self.get(id)
    }
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_file_keeps_its_id_and_path() {
        let files = Files::new();
        let a = files.add("a.yaml", "a: 1\n");
        let b = files.add("b.yaml", "b: 2\n");
        files.release(a.id);
        assert_eq!(files.path(a.id), "a.yaml");
        assert_eq!(&*files.get(a.id).unwrap().text, "");
        assert_eq!(&*files.get(b.id).unwrap().text, "b: 2\n");
        // Whoever still holds the file keeps its text.
        assert_eq!(&*a.text, "a: 1\n");
    }

    #[test]
    fn a_pending_file_is_read_on_first_use_only() {
        let files = Files::new();
        let reads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = reads.clone();
        let id = files.add_pending(
            "c.yaml",
            Arc::new(move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Some("c: 3\n".to_string())
            }),
        );
        assert!(files.is_pending(id));
        assert_eq!(files.path(id), "c.yaml");
        assert_eq!(&*files.all()[0].text, "");
        assert_eq!(&*files.by_path("c.yaml").unwrap().text, "c: 3\n");
        assert_eq!(&*files.get(id).unwrap().text, "c: 3\n");
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(!files.is_pending(id));
    }

    #[test]
    fn a_path_added_twice_answers_with_the_newest_file() {
        let files = Files::new();
        files.add("a.yaml", "old");
        let new = files.add("a.yaml", "new");
        assert_eq!(files.by_path("a.yaml").unwrap().id, new.id);
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let f = SourceFile::new("a.yaml", "a: é\nbb: x\n");
        assert_eq!(f.byte_offset(1, 3), 3);
        assert_eq!(f.byte_offset(1, 4), 5); // after the two-byte é
        assert_eq!(f.byte_offset(2, 4), 10);
        let s = f.span_at_byte(10);
        assert_eq!((s.line, s.col), (2, 5));
    }
}
