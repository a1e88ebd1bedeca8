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

/// Every file a run has read, by id. Files are added while loading and rendering (in parallel),
/// and read by reporters.
#[derive(Debug, Default)]
pub struct Files {
    files: RwLock<Vec<Arc<SourceFile>>>,
}

impl Files {
    pub fn new() -> Files {
        Files::default()
    }

    pub fn add(&self, path: impl Into<String>, text: impl Into<Arc<str>>) -> Arc<SourceFile> {
        let mut files = self.files.write().unwrap_or_else(|e| e.into_inner());
        let file = Arc::new(SourceFile::with_id(files.len() as u32, path, text));
        files.push(file.clone());
        file
    }

    pub fn get(&self, id: u32) -> Option<Arc<SourceFile>> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        files.get(id as usize).cloned()
    }

    /// The display path of a file id (empty when unknown).
    pub fn path(&self, id: u32) -> String {
        self.get(id).map(|f| f.path.clone()).unwrap_or_default()
    }

    pub fn all(&self) -> Vec<Arc<SourceFile>> {
        self.files.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn by_path(&self, path: &str) -> Option<Arc<SourceFile>> {
        let files = self.files.read().unwrap_or_else(|e| e.into_inner());
        files.iter().rev().find(|f| f.path == path).cloned()
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
    fn offsets_count_characters_not_bytes() {
        let f = SourceFile::new("a.yaml", "a: é\nbb: x\n");
        assert_eq!(f.byte_offset(1, 3), 3);
        assert_eq!(f.byte_offset(1, 4), 5); // after the two-byte é
        assert_eq!(f.byte_offset(2, 4), 10);
        let s = f.span_at_byte(10);
        assert_eq!((s.line, s.col), (2, 5));
    }
}
