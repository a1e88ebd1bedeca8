//! Go `text/template` syntax: a lexer and parser producing the tree the evaluator walks. Follows
//! Go's grammar (actions, pipelines, variables, `if`/`else if`/`range`/`with`/`else with`,
//! `define`/`template`/`block`, `break`/`continue`, comments and `{{-`/`-}}` trimming).

use std::collections::HashMap;
use std::rc::Rc;

/// A parse or execution error with the byte offset it happened at.
#[derive(Debug, Clone)]
pub struct TplError {
    pub pos: usize,
    pub msg: String,
}

pub fn err<T>(pos: usize, msg: impl Into<String>) -> Result<T, TplError> {
    Err(TplError {
        pos,
        msg: msg.into(),
    })
}

#[derive(Debug)]
pub enum Node {
    /// Literal text and the byte offset it starts at in the template.
    Text(usize, Rc<str>),
    Action(Pipe),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    Break(usize),
    Continue(usize),
}

#[derive(Debug)]
pub struct Branch {
    pub pipe: Pipe,
    pub list: Vec<Node>,
    pub else_list: Option<Vec<Node>>,
}

#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    pub decl: Vec<String>,
    /// `=` instead of `:=`.
    pub assign: bool,
    pub cmds: Vec<Cmd>,
}

#[derive(Debug)]
pub struct Cmd {
    pub pos: usize,
    pub args: Vec<Arg>,
}

#[derive(Debug)]
pub enum Arg {
    Dot,
    /// `.a.b`
    Field(Vec<Rc<str>>),
    /// `$x.a.b` (`$` alone is the root).
    Var(String, Vec<Rc<str>>),
    /// A function name.
    Ident(String),
    /// `(pipe).a.b`
    Chain(Box<Pipe>, Vec<Rc<str>>),
    Pipe(Box<Pipe>),
    Nil,
    Bool(bool),
    Str(Rc<str>),
    Int(i64),
    Float(f64),
}

/// One parsed file: its body and the templates it defines.
#[derive(Debug, Default)]
pub struct Parsed {
    pub root: Vec<Node>,
    pub defines: HashMap<String, Rc<Vec<Node>>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Text(String),
    Open,
    Close,
    /// A `.name`; `true` when glued to the token before it (`$x.a`, `(p).a`).
    Field(String, bool),
    Var(String),
    Ident(String),
    Dot,
    Str(String),
    Num(String),
    Char(i64),
    LParen,
    RParen,
    Pipe,
    Declare,
    Assign,
    Comma,
    Eof,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn lex(src: &str) -> Result<Vec<(Tok, usize)>, TplError> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        // Text up to the next `{{`.
        let start = i;
        let open = src[i..].find("{{").map(|o| i + o);
        let end = open.unwrap_or(b.len());
        let mut text_end = end;
        if let Some(o) = open {
            // `{{- ` trims the whitespace before the action.
            if b.get(o + 2) == Some(&b'-') && b.get(o + 3).is_some_and(|c| is_space(*c)) {
                while text_end > start && is_space(b[text_end - 1]) {
                    text_end -= 1;
                }
            }
        }
        if text_end > start {
            toks.push((Tok::Text(src[start..text_end].to_string()), start));
        }
        let Some(o) = open else { break };
        i = o + 2;
        if b.get(i) == Some(&b'-') && b.get(i + 1).is_some_and(|c| is_space(*c)) {
            i += 2;
        }
        // A comment: `{{/* ... */}}`, optionally trimmed.
        let mut j = i;
        while j < b.len() && is_space(b[j]) {
            j += 1;
        }
        if src[j..].starts_with("/*") {
            let Some(c) = src[j + 2..].find("*/") else {
                return err(o, "unclosed comment");
            };
            let mut k = j + 2 + c + 2;
            while k < b.len() && is_space(b[k]) {
                k += 1;
            }
            let trim_after = src[k..].starts_with("-}}");
            if !trim_after && !src[k..].starts_with("}}") {
                return err(o, "comment ends before closing delimiter");
            }
            i = k + if trim_after { 3 } else { 2 };
            if trim_after {
                while i < b.len() && is_space(b[i]) {
                    i += 1;
                }
            }
            continue;
        }
        toks.push((Tok::Open, o));
        // Inside the action.
        loop {
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
            if i >= b.len() {
                return err(o, "unclosed action");
            }
            if src[i..].starts_with("-}}") && i > 0 && is_space(b[i - 1]) {
                toks.push((Tok::Close, i));
                i += 3;
                while i < b.len() && is_space(b[i]) {
                    i += 1;
                }
                break;
            }
            if src[i..].starts_with("}}") {
                toks.push((Tok::Close, i));
                i += 2;
                break;
            }
            let c = b[i];
            let p = i;
            match c {
                b'(' => {
                    toks.push((Tok::LParen, p));
                    i += 1;
                }
                b')' => {
                    toks.push((Tok::RParen, p));
                    i += 1;
                }
                b'|' => {
                    toks.push((Tok::Pipe, p));
                    i += 1;
                }
                b',' => {
                    toks.push((Tok::Comma, p));
                    i += 1;
                }
                b':' if b.get(i + 1) == Some(&b'=') => {
                    toks.push((Tok::Declare, p));
                    i += 2;
                }
                b'=' => {
                    toks.push((Tok::Assign, p));
                    i += 1;
                }
                b'"' => {
                    let (s, n) = lex_quoted(src, i)?;
                    toks.push((Tok::Str(s), p));
                    i = n;
                }
                b'`' => {
                    let Some(e) = src[i + 1..].find('`') else {
                        return err(p, "unterminated raw quoted string");
                    };
                    toks.push((Tok::Str(src[i + 1..i + 1 + e].to_string()), p));
                    i = i + 2 + e;
                }
                b'\'' => {
                    let (s, n) = lex_quoted(src, i)?;
                    let mut cs = s.chars();
                    let ch = cs.next().ok_or(TplError {
                        pos: p,
                        msg: "empty character constant".into(),
                    })?;
                    toks.push((Tok::Char(ch as i64), p));
                    i = n;
                }
                b'.' if b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                    let n = scan_number(b, i);
                    toks.push((Tok::Num(src[i..n].to_string()), p));
                    i = n;
                }
                b'.' => {
                    let n = scan_ident(b, i + 1);
                    if n == i + 1 {
                        toks.push((Tok::Dot, p));
                    } else {
                        toks.push((
                            Tok::Field(src[i + 1..n].to_string(), i > 0 && !is_space(b[i - 1])),
                            p,
                        ));
                    }
                    i = n;
                }
                b'$' => {
                    let n = scan_ident(b, i + 1);
                    toks.push((Tok::Var(src[i..n].to_string()), p));
                    i = n;
                }
                b'0'..=b'9' | b'+' | b'-' => {
                    let n = scan_number(b, i);
                    if n == i + 1 && !c.is_ascii_digit() {
                        return err(p, format!("unexpected {:?} in command", c as char));
                    }
                    toks.push((Tok::Num(src[i..n].to_string()), p));
                    i = n;
                }
                c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                    let n = scan_ident(b, i);
                    toks.push((Tok::Ident(src[i..n].to_string()), p));
                    i = n;
                }
                _ => {
                    let ch = src[i..].chars().next().unwrap_or('?');
                    return err(p, format!("unrecognized character in action: {ch:?}"));
                }
            }
        }
    }
    toks.push((Tok::Eof, b.len()));
    Ok(toks)
}

fn scan_ident(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] >= 0x80) {
        i += 1;
    }
    i
}

fn scan_number(b: &[u8], mut i: usize) -> usize {
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    while i < b.len() {
        let c = b[i];
        let exponent_sign =
            (c == b'+' || c == b'-') && i > 0 && matches!(b[i - 1], b'e' | b'E' | b'p' | b'P');
        if !(c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exponent_sign) {
            break;
        }
        i += 1;
    }
    i
}

fn lex_quoted(src: &str, start: usize) -> Result<(String, usize), TplError> {
    let quote = src.as_bytes()[start] as char;
    let mut out = String::new();
    let mut chars = src[start + 1..].char_indices();
    while let Some((off, c)) = chars.next() {
        if c == quote {
            return Ok((out, start + 1 + off + 1));
        }
        if c == '\n' {
            break;
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n)
                    .filter_map(|_| chars.next().map(|(_, c)| c))
                    .collect();
                let v = u32::from_str_radix(&hex, 16).map_err(|_| TplError {
                    pos: start,
                    msg: "bad escape in quoted string".into(),
                })?;
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    if let Some((_, d)) = chars.next() {
                        v = v * 8 + d.to_digit(8).unwrap_or(0);
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            _ => {
                return err(start, "unknown escape sequence in quoted string");
            }
        }
    }
    err(start, "unterminated quoted string")
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    i: usize,
    defines: HashMap<String, Rc<Vec<Node>>>,
    /// Variables in scope, for Go's "undefined variable" parse error.
    vars: Vec<String>,
    range_depth: usize,
}

/// What ended a list: `{{end}}`, `{{else}}` (with what follows `else`), or the input's end.
enum Stop {
    End,
    Else,
    ElseIf,
    ElseWith,
    Eof,
}

pub fn parse(src: &str) -> Result<Parsed, TplError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        i: 0,
        defines: HashMap::new(),
        vars: vec!["$".into()],
        range_depth: 0,
    };
    let (root, end) = p.list()?;
    match end {
        Stop::Eof => {}
        _ => return err(p.pos(), "unexpected {{end}} or {{else}}"),
    }
    Ok(Parsed {
        root,
        defines: p.defines,
    })
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].0
    }
    fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].1
    }
    fn next(&mut self) -> (Tok, usize) {
        let t = self.toks[self.i].clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }
    fn expect_close(&mut self, ctx: &str) -> Result<(), TplError> {
        match self.next() {
            (Tok::Close, _) => Ok(()),
            (t, p) => err(p, format!("unexpected {t:?} in {ctx}")),
        }
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), TplError> {
        let mut out = Vec::new();
        loop {
            match self.next() {
                (Tok::Eof, _) => return Ok((out, Stop::Eof)),
                (Tok::Text(t), p) => out.push(Node::Text(p, t.into())),
                (Tok::Open, _) => {
                    if let Some(end) = self.action(&mut out)? {
                        return Ok((out, end));
                    }
                }
                (t, p) => return err(p, format!("unexpected {t:?}")),
            }
        }
    }

    /// One `{{ ... }}` after its opening delimiter. Returns how a list ended, if it did.
    fn action(&mut self, out: &mut Vec<Node>) -> Result<Option<Stop>, TplError> {
        let pos = self.pos();
        if let Tok::Ident(kw) = self.peek().clone() {
            match kw.as_str() {
                "end" => {
                    self.next();
                    self.expect_close("end")?;
                    return Ok(Some(Stop::End));
                }
                "else" => {
                    self.next();
                    if let Tok::Ident(k) = self.peek() {
                        if k == "if" {
                            self.next();
                            return Ok(Some(Stop::ElseIf));
                        }
                        if k == "with" {
                            self.next();
                            return Ok(Some(Stop::ElseWith));
                        }
                    }
                    self.expect_close("else")?;
                    return Ok(Some(Stop::Else));
                }
                "if" | "range" | "with" => {
                    self.next();
                    out.push(self.branch(&kw)?);
                    return Ok(None);
                }
                "break" | "continue" => {
                    self.next();
                    if self.range_depth == 0 {
                        return err(pos, format!("{{{{{kw}}}}} outside {{{{range}}}}"));
                    }
                    self.expect_close(&kw)?;
                    out.push(if kw == "break" {
                        Node::Break(pos)
                    } else {
                        Node::Continue(pos)
                    });
                    return Ok(None);
                }
                "define" => {
                    self.next();
                    let name = self.template_name("define")?;
                    self.expect_close("define")?;
                    let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
                    let (body, end) = self.list()?;
                    self.vars = saved;
                    if !matches!(end, Stop::End) {
                        return err(pos, "unexpected EOF in define");
                    }
                    self.add_define(name, body);
                    return Ok(None);
                }
                "template" | "block" => {
                    self.next();
                    let name = self.template_name(&kw)?;
                    let pipe = if matches!(self.peek(), Tok::Close) {
                        None
                    } else {
                        Some(self.pipeline(false)?)
                    };
                    self.expect_close(&kw)?;
                    if kw == "block" {
                        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
                        let (body, end) = self.list()?;
                        self.vars = saved;
                        if !matches!(end, Stop::End) {
                            return err(pos, "unexpected EOF in block");
                        }
                        self.add_define(name.clone(), body);
                    }
                    out.push(Node::Template { pos, name, pipe });
                    return Ok(None);
                }
                _ => {}
            }
        }
        let pipe = self.pipeline(true)?;
        self.expect_close("command")?;
        out.push(Node::Action(pipe));
        Ok(None)
    }

    fn add_define(&mut self, name: String, body: Vec<Node>) {
        // Go: a definition that is only whitespace does not replace an existing one.
        let empty = body
            .iter()
            .all(|n| matches!(n, Node::Text(_, t) if t.trim().is_empty()));
        if empty && self.defines.contains_key(&name) {
            return;
        }
        self.defines.insert(name, Rc::new(body));
    }

    fn template_name(&mut self, ctx: &str) -> Result<String, TplError> {
        match self.next() {
            (Tok::Str(s), _) => Ok(s),
            (_, p) => err(
                p,
                format!("unexpected token in {ctx} clause, expected a name"),
            ),
        }
    }

    fn branch(&mut self, kw: &str) -> Result<Node, TplError> {
        let nvars = self.vars.len();
        let pipe = self.pipeline(false)?;
        self.expect_close(kw)?;
        if kw == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.list()?;
        if kw == "range" {
            self.range_depth -= 1;
        }
        let else_list = match end {
            Stop::End => None,
            Stop::Else => {
                let (l, e) = self.list()?;
                if !matches!(e, Stop::End) {
                    return err(
                        self.pos(),
                        format!("expected end; found {{{{else}}}} in {kw}"),
                    );
                }
                Some(l)
            }
            Stop::ElseIf | Stop::ElseWith => {
                let inner = if matches!(end, Stop::ElseIf) {
                    "if"
                } else {
                    "with"
                };
                if inner != kw && !(kw == "if" && inner == "if") {
                    return err(self.pos(), format!("else {inner} in {kw}"));
                }
                // `{{else if x}}…{{end}}` is `{{else}}{{if x}}…{{end}}{{end}}`: the nested
                // branch consumes the shared `{{end}}`.
                let node = self.branch(inner)?;
                Some(vec![node])
            }
            Stop::Eof => return err(self.pos(), format!("unexpected EOF in {kw}")),
        };
        self.vars.truncate(nvars);
        let b = Branch {
            pipe,
            list,
            else_list,
        };
        Ok(match kw {
            "if" => Node::If(b),
            "range" => Node::Range(b),
            _ => Node::With(b),
        })
    }

    fn pipeline(&mut self, allow_assign: bool) -> Result<Pipe, TplError> {
        let pos = self.pos();
        let mut decl = Vec::new();
        let mut assign = false;
        // `$x :=`, `$x =`, `$i, $v :=`.
        if let Tok::Var(v) = self.peek().clone() {
            let save = self.i;
            self.next();
            match self.peek().clone() {
                Tok::Declare | Tok::Assign => {
                    assign = matches!(self.peek(), Tok::Assign);
                    self.next();
                    decl.push(v);
                }
                Tok::Comma => {
                    self.next();
                    if let (Tok::Var(v2), _) = self.next() {
                        if matches!(self.peek(), Tok::Declare | Tok::Assign) {
                            assign = matches!(self.peek(), Tok::Assign);
                            self.next();
                            decl.push(v);
                            decl.push(v2);
                        } else {
                            return err(pos, "expected := after variables");
                        }
                    } else {
                        return err(pos, "expected variable after comma");
                    }
                }
                _ => self.i = save,
            }
        }
        let _ = allow_assign;
        let mut cmds = Vec::new();
        loop {
            cmds.push(self.command()?);
            if matches!(self.peek(), Tok::Pipe) {
                self.next();
                continue;
            }
            break;
        }
        if assign {
            for v in &decl {
                if !self.vars.contains(v) {
                    return err(pos, format!("undefined variable {v:?}"));
                }
            }
        } else {
            self.vars.extend(decl.iter().cloned());
        }
        Ok(Pipe {
            pos,
            decl,
            assign,
            cmds,
        })
    }

    fn command(&mut self) -> Result<Cmd, TplError> {
        let pos = self.pos();
        let mut args = Vec::new();
        loop {
            match self.peek() {
                Tok::Close | Tok::RParen | Tok::Pipe | Tok::Eof => break,
                _ => args.push(self.operand()?),
            }
        }
        if args.is_empty() {
            return err(pos, "missing value for command");
        }
        Ok(Cmd { pos, args })
    }

    fn fields(&mut self) -> Vec<Rc<str>> {
        let mut out = Vec::new();
        // Only fields glued to the operand belong to it (`$x.a`, `(p).a`; `index $m .k` is two).
        while let Tok::Field(f, true) = self.peek().clone() {
            self.next();
            out.push(f.into());
        }
        out
    }

    fn operand(&mut self) -> Result<Arg, TplError> {
        let (t, p) = self.next();
        Ok(match t {
            Tok::Dot => Arg::Dot,
            Tok::Field(f, _) => {
                let mut fs: Vec<Rc<str>> = vec![f.into()];
                fs.extend(self.fields());
                Arg::Field(fs)
            }
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return err(p, format!("undefined variable {v:?}"));
                }
                let fs = self.fields();
                Arg::Var(v, fs)
            }
            Tok::LParen => {
                let pipe = self.pipeline(false)?;
                match self.next() {
                    (Tok::RParen, _) => {}
                    (_, q) => return err(q, "unclosed left paren"),
                }
                let fs = self.fields();
                if fs.is_empty() {
                    Arg::Pipe(Box::new(pipe))
                } else {
                    Arg::Chain(Box::new(pipe), fs)
                }
            }
            Tok::Str(s) => Arg::Str(s.into()),
            Tok::Char(c) => Arg::Int(c),
            Tok::Num(n) => parse_number(&n, p)?,
            Tok::Ident(id) => match id.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                _ => Arg::Ident(id),
            },
            t => return err(p, format!("unexpected {t:?} in operand")),
        })
    }
}

fn parse_number(text: &str, pos: usize) -> Result<Arg, TplError> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let lower = body.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(bi) = lower.strip_prefix("0b") {
        i64::from_str_radix(bi, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|c| c.is_ascii_digit())
    {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else if lower.bytes().all(|c| c.is_ascii_digit()) {
        lower.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Ok(Arg::Int(if neg { -i } else { i }));
    }
    match lower.parse::<f64>() {
        Ok(f) if !lower.starts_with("0x") => Ok(Arg::Float(if neg { -f } else { f })),
        _ => err(pos, format!("bad number syntax: {text:?}")),
    }
}

/// 1-based line and column (in characters) of byte `pos` in `src`.
pub fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let before = &src[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_comments() {
        let p = parse("a  {{- .x -}}  b {{/* c */}} {{- /* d */ -}} e").unwrap();
        let texts: Vec<String> = p
            .root
            .iter()
            .filter_map(|n| match n {
                Node::Text(_, t) => Some(t.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, vec!["a", "b ", "e"]);
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("ok\n{{ if .x }}").unwrap_err();
        assert!(e.msg.contains("EOF"), "{}", e.msg);
        let e = parse("{{ $y }}").unwrap_err();
        assert!(e.msg.contains("undefined variable"));
        assert_eq!(line_col("a\nbc", 3), (2, 2));
    }

    #[test]
    fn numbers() {
        assert!(matches!(parse_number("0x1F", 0).unwrap(), Arg::Int(31)));
        assert!(matches!(parse_number("-3", 0).unwrap(), Arg::Int(-3)));
        assert!(matches!(parse_number("1e3", 0).unwrap(), Arg::Float(_)));
        assert!(matches!(parse_number("1_000", 0).unwrap(), Arg::Int(1000)));
    }
}
