//! JMS message selectors (a subset of the grammar of JMS 2.0 §3.8.1), for
//! servers that honour the `apache.org:selector-filter:string` source
//! filter.
//!
//! A [`Selector`] is parsed once by a hand-written recursive-descent parser
//! with bounded input (at most [`MAX_LEN`] bytes) and bounded expression
//! depth ([`MAX_DEPTH`]), so hostile text costs bounded time and stack;
//! anything outside the subset is refused with the position where parsing
//! stopped. [`Selector::matches`] evaluates it against a [`Message`] with
//! SQL's three-valued logic, as JMS requires: a comparison involving an
//! absent value (or values of types that do not compare) is *unknown*, and
//! a message matches only when the whole selector is *true*.
//!
//! Matching costs no copy of a property per reference to it (values are
//! borrowed from the message, found in one pass per match), and `LIKE`
//! matches its `%`-separated pieces leftmost-first: linear in the text for
//! pieces without `_`; pieces with `_` are searched naively within a
//! budget of comparisons, past which the `LIKE` is *unknown*.
//!
//! The subset:
//! - literals: strings in single quotes (`''` is a quote), exact numbers
//!   (`42`, `-7`, `0x1F`, `42L`), approximate numbers (`1.5`, `.5`, `2e3`,
//!   `1.5F`, `1.5D`), `TRUE`, `FALSE`, `NULL` is not a literal (only in
//!   `IS [NOT] NULL`);
//! - identifiers: the JMS header names below, else an application property;
//! - `=`, `<>`, `<`, `<=`, `>`, `>=`; `+`, `-`, `*`, `/` and unary `+`/`-`;
//!   `AND`, `OR`, `NOT`; parentheses;
//! - `x [NOT] BETWEEN a AND b`, `x [NOT] IN ('a', 'b', ...)` (string or
//!   numeric literals), `x [NOT] LIKE 'pattern' [ESCAPE 'c']` (`%` any
//!   text, `_` one character), `x IS [NOT] NULL`.
//!
//! Keywords are case-insensitive; identifiers are case-sensitive.
//!
//! JMS header names map to the AMQP message as ActiveMQ's AMQP mapping
//! does: `JMSMessageID` the message-id, `JMSCorrelationID` the
//! correlation-id (a string, or the text of a ulong, uuid or binary id),
//! `JMSType` the subject, `JMSPriority` the header's priority (4 when
//! absent), `JMSDeliveryMode` `'PERSISTENT'` when the header's durable flag
//! is set and `'NON_PERSISTENT'` otherwise, `JMSTimestamp` the
//! creation-time and `JMSExpiration` the absolute-expiry-time (milliseconds
//! since the Unix epoch; NULL when absent), `JMSDestination` the to field,
//! `JMSReplyTo` the reply-to, `JMSXUserID` the user-id (as UTF-8 text),
//! `JMSXGroupID` the group-id, `JMSXGroupSeq` the group-sequence,
//! `JMSXDeliveryCount` the header's delivery-count plus one. Any other
//! identifier names an application property (§3.2.5): booleans, integers
//! of any width, timestamps (as milliseconds), floats, doubles, strings,
//! symbols and chars have values; other types and absent keys are NULL.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt;

use crate::codec::Value;
use crate::codec::message::Message;

/// The longest selector text accepted, in bytes.
pub const MAX_LEN: usize = 16 * 1024;
/// The deepest expression tree accepted (nesting and operator chains).
pub const MAX_DEPTH: usize = 100;

/// Why a selector was refused: where (1-based character column) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    /// 1-based column (in characters) where parsing stopped.
    pub column: usize,
    /// What was wrong there.
    pub reason: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid selector at column {}: {}",
            self.column, self.reason
        )
    }
}

impl std::error::Error for SelectorError {}

/// A parsed JMS selector.
#[derive(Debug, Clone)]
pub struct Selector {
    root: Expr,
    text: String,
    /// The application properties it names, each with its slot in the
    /// table [`Selector::matches`] fills in one pass over the message.
    props: HashMap<String, usize>,
    /// The longest of those names, in bytes (longer keys are skipped).
    longest: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Bool(bool),
    Long(i64),
    Double(f64),
    Str(String),
}

#[derive(Debug, Clone)]
enum Expr {
    Lit(Lit),
    /// A JMS header, by its index in [`HEADERS`].
    Header(usize),
    /// An application property, by its slot in `Selector::props`.
    Prop(usize),
    Neg(Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    Cmp(Cmp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Lit>),
    Like(Box<Expr>, Pattern),
    IsNull(Box<Expr>),
}

// ---- lexer ---------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Long(i64),
    Double(f64),
    Op(&'static str),
    /// 9223372036854775808: valid only after a unary minus.
    MinLongMagnitude,
    End,
}

struct Lexer<'a> {
    chars: Vec<(usize, char)>,
    pos: usize,
    _text: &'a str,
}

/// The longest piece of peer text a refusal quotes, in characters.
const SHOWN_MAX: usize = 64;

/// Peer text as a refusal quotes it: escaped as `{:?}` does (control
/// characters, quotes and backslashes), cut to [`SHOWN_MAX`] characters
/// with `…` when longer.
fn shown(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i == SHOWN_MAX {
            out.push('…');
            break;
        }
        out.extend(c.escape_debug());
    }
    out
}

fn err<T>(column: usize, reason: impl Into<String>) -> Result<T, SelectorError> {
    Err(SelectorError {
        column,
        reason: reason.into(),
    })
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            chars: text.char_indices().collect(),
            pos: 0,
            _text: text,
        }
    }

    fn peek_char(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).map(|&(_, c)| c)
    }

    /// The next token and its 1-based column.
    fn next(&mut self) -> Result<(Tok, usize), SelectorError> {
        while self.peek_char(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let col = self.pos + 1;
        let Some(c) = self.peek_char(0) else {
            return Ok((Tok::End, col));
        };
        if c.is_alphabetic() || c == '_' || c == '$' {
            let start = self.pos;
            while self
                .peek_char(0)
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$')
            {
                self.pos += 1;
            }
            let s: String = self.chars[start..self.pos]
                .iter()
                .map(|&(_, c)| c)
                .collect();
            return Ok((Tok::Ident(s), col));
        }
        if c == '\'' {
            self.pos += 1;
            let mut s = String::new();
            loop {
                match self.peek_char(0) {
                    None => return err(col, "the string literal is not closed (missing ')"),
                    Some('\'') if self.peek_char(1) == Some('\'') => {
                        s.push('\'');
                        self.pos += 2;
                    }
                    Some('\'') => {
                        self.pos += 1;
                        return Ok((Tok::Str(s), col));
                    }
                    Some(c) => {
                        s.push(c);
                        self.pos += 1;
                    }
                }
            }
        }
        if c.is_ascii_digit() || (c == '.' && self.peek_char(1).is_some_and(|d| d.is_ascii_digit()))
        {
            return self.number(col);
        }
        let two: String = [Some(c), self.peek_char(1)].iter().flatten().collect();
        for op in ["<>", "<=", ">="] {
            if two == op {
                self.pos += 2;
                return Ok((Tok::Op(op), col));
            }
        }
        for op in ["=", "<", ">", "+", "-", "*", "/", "(", ")", ","] {
            if op.starts_with(c) {
                self.pos += 1;
                return Ok((Tok::Op(op), col));
            }
        }
        if c == '"' {
            return err(
                col,
                "quoted identifiers are not supported (strings use single quotes)",
            );
        }
        err(col, format!("unexpected character {c:?}"))
    }

    fn number(&mut self, col: usize) -> Result<(Tok, usize), SelectorError> {
        let start = self.pos;
        let take = |l: &mut Self, f: &dyn Fn(char) -> bool| {
            while l.peek_char(0).is_some_and(f) {
                l.pos += 1;
            }
        };
        let text = |l: &Self, from: usize| -> String {
            l.chars[from..l.pos].iter().map(|&(_, c)| c).collect()
        };
        if self.peek_char(0) == Some('0') && matches!(self.peek_char(1), Some('x' | 'X')) {
            self.pos += 2;
            let digits = self.pos;
            take(self, &|c| c.is_ascii_hexdigit());
            let t = text(self, digits);
            if matches!(self.peek_char(0), Some('l' | 'L')) {
                self.pos += 1;
            }
            self.no_trailing_letter()?;
            return match i64::from_str_radix(&t, 16) {
                Ok(v) => Ok((Tok::Long(v), col)),
                Err(_) => err(col, format!("bad hexadecimal number 0x{}", shown(&t))),
            };
        }
        take(self, &|c| c.is_ascii_digit());
        let mut approx = false;
        if self.peek_char(0) == Some('.') {
            approx = true;
            self.pos += 1;
            take(self, &|c| c.is_ascii_digit());
        }
        if matches!(self.peek_char(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek_char(1), Some('+' | '-')));
            if self.peek_char(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                approx = true;
                self.pos += 1 + sign;
                take(self, &|c| c.is_ascii_digit());
            }
        }
        let t = text(self, start);
        match self.peek_char(0) {
            Some('f' | 'F' | 'd' | 'D') => {
                approx = true;
                self.pos += 1;
            }
            Some('l' | 'L') if !approx => self.pos += 1,
            _ => {}
        }
        self.no_trailing_letter()?;
        if approx {
            match t.parse::<f64>() {
                Ok(v) => Ok((Tok::Double(v), col)),
                Err(_) => err(col, format!("bad number {}", shown(&t))),
            }
        } else {
            match t.parse::<i64>() {
                Ok(v) => Ok((Tok::Long(v), col)),
                Err(_) if t == "9223372036854775808" => Ok((Tok::MinLongMagnitude, col)),
                Err(_) => err(col, format!("the number {} is out of range", shown(&t))),
            }
        }
    }

    fn no_trailing_letter(&self) -> Result<(), SelectorError> {
        match self.peek_char(0) {
            Some(c) if c.is_alphanumeric() || c == '_' || c == '$' || c == '.' => {
                err(self.pos + 1, format!("unexpected {c:?} after a number"))
            }
            _ => Ok(()),
        }
    }
}

// ---- parser --------------------------------------------------------------

const KEYWORDS: [&str; 11] = [
    "AND", "OR", "NOT", "BETWEEN", "LIKE", "IN", "IS", "NULL", "ESCAPE", "TRUE", "FALSE",
];

/// The identifiers that name JMS headers rather than application
/// properties.
const HEADERS: [&str; 13] = [
    "JMSMessageID",
    "JMSCorrelationID",
    "JMSType",
    "JMSDestination",
    "JMSReplyTo",
    "JMSXGroupID",
    "JMSXGroupSeq",
    "JMSXUserID",
    "JMSTimestamp",
    "JMSExpiration",
    "JMSPriority",
    "JMSDeliveryMode",
    "JMSXDeliveryCount",
];

fn is_kw(t: &Tok, kw: &str) -> bool {
    matches!(t, Tok::Ident(s) if s.eq_ignore_ascii_case(kw))
}

struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok,
    col: usize,
    depth: usize,
    /// Application property names seen so far, with their slots.
    props: HashMap<String, usize>,
}

fn depth(e: &Expr) -> usize {
    // Only called on freshly built nodes whose children are bounded.
    1 + match e {
        Expr::Lit(_) | Expr::Header(_) | Expr::Prop(_) => 0,
        Expr::Neg(a) | Expr::Not(a) | Expr::IsNull(a) | Expr::In(a, _) | Expr::Like(a, _) => {
            depth(a)
        }
        Expr::Arith(_, a, b) | Expr::Cmp(_, a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
            depth(a).max(depth(b))
        }
        Expr::Between(a, b, c) => depth(a).max(depth(b)).max(depth(c)),
    }
}

impl<'a> Parser<'a> {
    fn bump(&mut self) -> Result<(), SelectorError> {
        let (t, c) = self.lex.next()?;
        self.tok = t;
        self.col = c;
        Ok(())
    }

    fn found(&self) -> String {
        match &self.tok {
            Tok::End => "the end of the selector".to_owned(),
            Tok::Ident(s) => format!("'{}'", shown(s)),
            Tok::Str(s) => format!("the string '{}'", shown(s)),
            Tok::Long(v) => format!("the number {v}"),
            Tok::Double(v) => format!("the number {v}"),
            Tok::Op(o) => format!("'{o}'"),
            Tok::MinLongMagnitude => "the number 9223372036854775808".to_owned(),
        }
    }

    fn expected<T>(&self, what: &str) -> Result<T, SelectorError> {
        err(self.col, format!("expected {what}, found {}", self.found()))
    }

    /// Builds a node, refusing trees deeper than MAX_DEPTH.
    fn node(&self, e: Expr) -> Result<Expr, SelectorError> {
        if depth(&e) > MAX_DEPTH {
            return err(
                self.col,
                format!("the expression is nested deeper than {MAX_DEPTH} levels"),
            );
        }
        Ok(e)
    }

    fn enter(&mut self) -> Result<(), SelectorError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(
                self.col,
                format!("the expression is nested deeper than {MAX_DEPTH} levels"),
            );
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, SelectorError> {
        self.enter()?;
        let mut e = self.and()?;
        while is_kw(&self.tok, "OR") {
            self.bump()?;
            let r = self.and()?;
            e = self.node(Expr::Or(Box::new(e), Box::new(r)))?;
        }
        self.depth -= 1;
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, SelectorError> {
        let mut e = self.not()?;
        while is_kw(&self.tok, "AND") {
            self.bump()?;
            let r = self.not()?;
            e = self.node(Expr::And(Box::new(e), Box::new(r)))?;
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, SelectorError> {
        if is_kw(&self.tok, "NOT") {
            self.enter()?;
            self.bump()?;
            let e = self.not()?;
            self.depth -= 1;
            return self.node(Expr::Not(Box::new(e)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, SelectorError> {
        let left = self.sum()?;
        if let Tok::Op(op) = self.tok {
            let cmp = match op {
                "=" => Some(Cmp::Eq),
                "<>" => Some(Cmp::Ne),
                "<" => Some(Cmp::Lt),
                "<=" => Some(Cmp::Le),
                ">" => Some(Cmp::Gt),
                ">=" => Some(Cmp::Ge),
                _ => None,
            };
            if let Some(cmp) = cmp {
                self.bump()?;
                let right = self.sum()?;
                return self.node(Expr::Cmp(cmp, Box::new(left), Box::new(right)));
            }
        }
        if is_kw(&self.tok, "IS") {
            self.bump()?;
            let negate = is_kw(&self.tok, "NOT");
            if negate {
                self.bump()?;
            }
            if !is_kw(&self.tok, "NULL") {
                return self.expected("NULL after IS");
            }
            self.bump()?;
            let e = self.node(Expr::IsNull(Box::new(left)))?;
            return if negate {
                self.node(Expr::Not(Box::new(e)))
            } else {
                Ok(e)
            };
        }
        let negate = is_kw(&self.tok, "NOT");
        if negate {
            self.bump()?;
        }
        let e = if is_kw(&self.tok, "BETWEEN") {
            self.bump()?;
            let low = self.sum()?;
            if !is_kw(&self.tok, "AND") {
                return self.expected("AND in BETWEEN ... AND ...");
            }
            self.bump()?;
            let high = self.sum()?;
            Expr::Between(Box::new(left), Box::new(low), Box::new(high))
        } else if is_kw(&self.tok, "IN") {
            self.bump()?;
            if self.tok != Tok::Op("(") {
                return self.expected("'(' after IN");
            }
            let mut items = Vec::new();
            loop {
                self.bump()?;
                items.push(self.literal_in_list()?);
                self.bump()?;
                match self.tok {
                    Tok::Op(",") => continue,
                    Tok::Op(")") => break,
                    _ => return self.expected("',' or ')' in the IN list"),
                }
            }
            self.bump()?;
            Expr::In(Box::new(left), items)
        } else if is_kw(&self.tok, "LIKE") {
            self.bump()?;
            let Tok::Str(pattern) = &self.tok else {
                return self.expected("a string pattern after LIKE");
            };
            let pattern = pattern.clone();
            self.bump()?;
            let mut escape = None;
            if is_kw(&self.tok, "ESCAPE") {
                self.bump()?;
                match &self.tok {
                    Tok::Str(s) if s.chars().count() == 1 => escape = s.chars().next(),
                    _ => return self.expected("a one-character string after ESCAPE"),
                }
                self.bump()?;
            }
            Expr::Like(Box::new(left), Pattern::new(&pattern, escape))
        } else if negate {
            return self.expected("BETWEEN, IN or LIKE after NOT");
        } else {
            return Ok(left);
        };
        let e = self.node(e)?;
        if negate {
            self.node(Expr::Not(Box::new(e)))
        } else {
            Ok(e)
        }
    }

    fn literal_in_list(&mut self) -> Result<Lit, SelectorError> {
        let neg = self.tok == Tok::Op("-");
        if neg {
            self.bump()?;
        }
        match (&self.tok, neg) {
            (Tok::Str(s), false) => Ok(Lit::Str(s.clone())),
            (Tok::Long(v), _) => Ok(Lit::Long(if neg { -*v } else { *v })),
            (Tok::Double(v), _) => Ok(Lit::Double(if neg { -*v } else { *v })),
            _ => self.expected("a string or number literal in the IN list"),
        }
    }

    fn sum(&mut self) -> Result<Expr, SelectorError> {
        let mut e = self.product()?;
        loop {
            let op = match self.tok {
                Tok::Op("+") => Arith::Add,
                Tok::Op("-") => Arith::Sub,
                _ => return Ok(e),
            };
            self.bump()?;
            let r = self.product()?;
            e = self.node(Expr::Arith(op, Box::new(e), Box::new(r)))?;
        }
    }

    fn product(&mut self) -> Result<Expr, SelectorError> {
        let mut e = self.unary()?;
        loop {
            let op = match self.tok {
                Tok::Op("*") => Arith::Mul,
                Tok::Op("/") => Arith::Div,
                _ => return Ok(e),
            };
            self.bump()?;
            let r = self.unary()?;
            e = self.node(Expr::Arith(op, Box::new(e), Box::new(r)))?;
        }
    }

    fn unary(&mut self) -> Result<Expr, SelectorError> {
        match self.tok {
            Tok::Op("-") => {
                self.enter()?;
                self.bump()?;
                let e = match self.tok {
                    // The literal's own sign: -9223372036854775808 fits.
                    Tok::MinLongMagnitude => {
                        self.bump()?;
                        Expr::Lit(Lit::Long(i64::MIN))
                    }
                    _ => {
                        let inner = self.unary()?;
                        self.node(Expr::Neg(Box::new(inner)))?
                    }
                };
                self.depth -= 1;
                Ok(e)
            }
            Tok::Op("+") => {
                self.enter()?;
                self.bump()?;
                let e = self.unary()?;
                self.depth -= 1;
                Ok(e)
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Expr, SelectorError> {
        let e = match &self.tok {
            Tok::Op("(") => {
                self.bump()?;
                let e = self.or()?;
                if self.tok != Tok::Op(")") {
                    return self.expected("')'");
                }
                e
            }
            Tok::Str(s) => Expr::Lit(Lit::Str(s.clone())),
            Tok::Long(v) => Expr::Lit(Lit::Long(*v)),
            Tok::MinLongMagnitude => {
                return err(self.col, "the number 9223372036854775808 is out of range");
            }
            Tok::Double(v) => Expr::Lit(Lit::Double(*v)),
            t if is_kw(t, "TRUE") => Expr::Lit(Lit::Bool(true)),
            t if is_kw(t, "FALSE") => Expr::Lit(Lit::Bool(false)),
            t if is_kw(t, "NULL") => {
                return err(self.col, "NULL is supported only in IS [NOT] NULL");
            }
            Tok::Ident(s) if KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k)) => {
                return self.expected("an identifier or a literal");
            }
            Tok::Ident(s) if let Some(i) = HEADERS.iter().position(|h| h == s) => Expr::Header(i),
            Tok::Ident(s) => {
                let next = self.props.len();
                Expr::Prop(*self.props.entry(s.clone()).or_insert(next))
            }
            _ => return self.expected("an identifier, a literal or '('"),
        };
        self.bump()?;
        Ok(e)
    }
}

impl Selector {
    /// Parses `text`; refuses what the subset does not support, saying
    /// where.
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        if text.len() > MAX_LEN {
            return err(1, format!("the selector is longer than {MAX_LEN} bytes"));
        }
        let mut p = Parser {
            lex: Lexer::new(text),
            tok: Tok::End,
            col: 1,
            depth: 0,
            props: HashMap::new(),
        };
        p.bump()?;
        if p.tok == Tok::End {
            return err(1, "the selector is empty");
        }
        let root = p.or()?;
        if p.tok != Tok::End {
            return p.expected("an operator or the end of the selector");
        }
        let longest = p.props.keys().map(String::len).max().unwrap_or(0);
        Ok(Selector {
            root,
            text: text.to_owned(),
            props: p.props,
            longest,
        })
    }

    /// The text it was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// True when `msg` matches (the selector is *true* for it; *false* and
    /// *unknown* do not match).
    pub fn matches(&self, msg: &Message) -> bool {
        // One pass over the application properties finds every one the
        // selector names (the first of a repeated key), so evaluation
        // costs no scan and no copy per reference.
        let mut props = vec![None; self.props.len()];
        if !self.props.is_empty()
            && let Some(a) = &msg.application_properties
        {
            let mut left = props.len();
            for (k, v) in &a.0 {
                if let Value::String(s) = k
                    && s.len() <= self.longest
                    && let Some(&i) = self.props.get(s.as_ref())
                    && props[i].is_none()
                {
                    props[i] = Some(v);
                    left -= 1;
                    if left == 0 {
                        break;
                    }
                }
            }
        }
        let cx = Ctx {
            m: msg,
            props,
            headers: std::array::from_fn(|_| OnceCell::new()),
            like_budget: std::cell::Cell::new(LIKE_BUDGET),
        };
        truth(&eval(&self.root, &cx)) == Some(true)
    }
}

// ---- evaluation ----------------------------------------------------------

/// A value during evaluation; strings borrow from the selector or the
/// message where they can.
#[derive(Debug, Clone, PartialEq)]
enum V<'a> {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Str(Cow<'a, str>),
}

/// What evaluation reads: the message, the application properties the
/// selector names (by slot), and the JMS headers' values as first computed
/// (some are converted text, made once however often they are named).
struct Ctx<'a> {
    m: &'a Message,
    props: Vec<Option<&'a Value<'static>>>,
    headers: [OnceCell<V<'a>>; HEADERS.len()],
    /// What the selector's LIKEs may still spend, all together, on this
    /// message (see [`LIKE_BUDGET`]).
    like_budget: std::cell::Cell<u64>,
}

fn truth(v: &V<'_>) -> Option<bool> {
    match v {
        V::Bool(b) => Some(*b),
        _ => None,
    }
}

fn from_truth<'a>(t: Option<bool>) -> V<'a> {
    t.map_or(V::Null, V::Bool)
}

fn lit(l: &Lit) -> V<'_> {
    match l {
        Lit::Bool(b) => V::Bool(*b),
        Lit::Long(v) => V::Long(*v),
        Lit::Double(v) => V::Double(*v),
        Lit::Str(s) => V::Str(Cow::Borrowed(s)),
    }
}

fn id_text<'a>(v: &'a Value<'_>) -> V<'a> {
    match v {
        Value::String(s) | Value::Symbol(s) => V::Str(Cow::Borrowed(s)),
        Value::Ulong(n) => V::Str(Cow::Owned(n.to_string())),
        Value::Uuid(u) => V::Str(Cow::Owned(
            u.iter()
                .enumerate()
                .map(|(i, b)| {
                    let sep = if matches!(i, 4 | 6 | 8 | 10) { "-" } else { "" };
                    format!("{sep}{b:02x}")
                })
                .collect(),
        )),
        Value::Binary(b) => V::Str(String::from_utf8_lossy(b)),
        _ => V::Null,
    }
}

fn property<'a>(v: &'a Value<'_>) -> V<'a> {
    match v {
        Value::Bool(b) => V::Bool(*b),
        Value::Ubyte(n) => V::Long(i64::from(*n)),
        Value::Ushort(n) => V::Long(i64::from(*n)),
        Value::Uint(n) => V::Long(i64::from(*n)),
        Value::Ulong(n) => i64::try_from(*n).map_or(V::Double(*n as f64), V::Long),
        Value::Byte(n) => V::Long(i64::from(*n)),
        Value::Short(n) => V::Long(i64::from(*n)),
        Value::Int(n) => V::Long(i64::from(*n)),
        Value::Long(n) | Value::Timestamp(n) => V::Long(*n),
        Value::Float(f) => V::Double(f64::from(*f)),
        Value::Double(f) => V::Double(*f),
        Value::String(s) | Value::Symbol(s) => V::Str(Cow::Borrowed(s)),
        Value::Char(c) => V::Str(Cow::Owned(c.to_string())),
        _ => V::Null,
    }
}

fn text(s: Option<&String>) -> V<'_> {
    s.map_or(V::Null, |s| V::Str(Cow::Borrowed(s)))
}

/// The value of the JMS header `name` (one of [`HEADERS`]).
fn header<'a>(name: &str, m: &'a Message) -> V<'a> {
    let p = m.properties.as_ref();
    let h = m.header.as_ref();
    match name {
        "JMSMessageID" => p
            .and_then(|p| p.message_id.as_ref())
            .map_or(V::Null, id_text),
        "JMSCorrelationID" => p
            .and_then(|p| p.correlation_id.as_ref())
            .map_or(V::Null, id_text),
        "JMSType" => text(p.and_then(|p| p.subject.as_ref())),
        "JMSDestination" => text(p.and_then(|p| p.to.as_ref())),
        "JMSReplyTo" => text(p.and_then(|p| p.reply_to.as_ref())),
        "JMSXGroupID" => text(p.and_then(|p| p.group_id.as_ref())),
        "JMSXGroupSeq" => p
            .and_then(|p| p.group_sequence)
            .map_or(V::Null, |n| V::Long(i64::from(n))),
        "JMSXUserID" => p
            .and_then(|p| p.user_id.as_ref())
            .map_or(V::Null, |b| V::Str(String::from_utf8_lossy(&b.0))),
        "JMSTimestamp" => p
            .and_then(|p| p.creation_time)
            .map_or(V::Null, |t| V::Long(t.0)),
        "JMSExpiration" => p
            .and_then(|p| p.absolute_expiry_time)
            .map_or(V::Null, |t| V::Long(t.0)),
        "JMSPriority" => V::Long(i64::from(h.map_or(4, |h| h.priority))),
        "JMSDeliveryMode" => V::Str(Cow::Borrowed(if h.is_some_and(|h| h.durable) {
            "PERSISTENT"
        } else {
            "NON_PERSISTENT"
        })),
        "JMSXDeliveryCount" => V::Long(i64::from(h.map_or(0, |h| h.delivery_count)) + 1),
        _ => V::Null,
    }
}

fn as_f64(v: &V<'_>) -> Option<f64> {
    match v {
        V::Long(n) => Some(*n as f64),
        V::Double(f) => Some(*f),
        _ => None,
    }
}

fn arith<'a>(op: Arith, a: V<'_>, b: V<'_>) -> V<'a> {
    if let (V::Long(x), V::Long(y)) = (&a, &b) {
        let r = match op {
            Arith::Add => x.checked_add(*y),
            Arith::Sub => x.checked_sub(*y),
            Arith::Mul => x.checked_mul(*y),
            Arith::Div if *y == 0 => return V::Null,
            Arith::Div => x.checked_div(*y),
        };
        if let Some(r) = r {
            return V::Long(r);
        }
    }
    match (as_f64(&a), as_f64(&b)) {
        (Some(x), Some(y)) => V::Double(match op {
            Arith::Add => x + y,
            Arith::Sub => x - y,
            Arith::Mul => x * y,
            Arith::Div => x / y,
        }),
        _ => V::Null,
    }
}

fn compare(op: Cmp, a: &V<'_>, b: &V<'_>) -> Option<bool> {
    let ord = match (a, b) {
        (V::Null, _) | (_, V::Null) => return None,
        (V::Long(x), V::Long(y)) => x.cmp(y),
        (V::Str(x), V::Str(y)) if matches!(op, Cmp::Eq | Cmp::Ne) => x.cmp(y),
        (V::Bool(x), V::Bool(y)) if matches!(op, Cmp::Eq | Cmp::Ne) => x.cmp(y),
        _ => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y)?,
            _ => return None,
        },
    };
    use std::cmp::Ordering::*;
    Some(match op {
        Cmp::Eq => ord == Equal,
        Cmp::Ne => ord != Equal,
        Cmp::Lt => ord == Less,
        Cmp::Le => ord != Greater,
        Cmp::Gt => ord == Greater,
        Cmp::Ge => ord != Less,
    })
}

// ---- LIKE ----------------------------------------------------------------

/// How many character comparisons the LIKEs of one selector may spend,
/// all together on one message, searching for segments that hold `_`;
/// a LIKE that would need more is *unknown*.
const LIKE_BUDGET: u64 = 10_000_000;

/// A run of a LIKE pattern between two unescaped `%`.
#[derive(Debug, Clone)]
enum Seg {
    /// Literal characters only: found with a linear substring search.
    Lit(String),
    /// At least one `_`: `Some(c)` a literal character, `None` any one.
    Mixed(Vec<Option<char>>),
}

impl Seg {
    fn new(ps: Vec<Option<char>>) -> Seg {
        if ps.iter().all(Option::is_some) {
            Seg::Lit(ps.into_iter().flatten().collect())
        } else {
            Seg::Mixed(ps)
        }
    }

    /// Its length in characters.
    fn chars(&self) -> usize {
        match self {
            Seg::Lit(s) => s.chars().count(),
            Seg::Mixed(ps) => ps.len(),
        }
    }

    /// Matches at the start of `text`: the byte length matched.
    fn match_at(&self, text: &str, steps: &mut u64) -> Option<usize> {
        match self {
            Seg::Lit(s) => text.starts_with(s.as_str()).then_some(s.len()),
            Seg::Mixed(ps) => {
                let mut it = text.char_indices();
                let mut end = 0;
                for p in ps {
                    *steps += 1;
                    let (i, c) = it.next()?;
                    if p.is_some_and(|p| p != c) {
                        return None;
                    }
                    end = i + c.len_utf8();
                }
                Some(end)
            }
        }
    }

    /// The leftmost match in `text`: the byte offset just past it; `Err`
    /// when the step count passes `budget`.
    fn find(&self, text: &str, steps: &mut u64, budget: u64) -> Result<Option<usize>, ()> {
        match self {
            Seg::Lit(s) => Ok(text.find(s.as_str()).map(|i| i + s.len())),
            Seg::Mixed(_) => {
                for (i, _) in text.char_indices() {
                    if let Some(n) = self.match_at(&text[i..], steps) {
                        return Ok(Some(i + n));
                    }
                    if *steps > budget {
                        return Err(());
                    }
                }
                Ok(None)
            }
        }
    }
}

/// A LIKE pattern, split at its unescaped `%`: `%` any run of characters,
/// `_` any one, `escape` makes the next character literal (an escape
/// character at the very end is an ordinary character).
#[derive(Debug, Clone)]
struct Pattern {
    /// One segment when there is no `%`; otherwise the first is anchored at
    /// the start of the text, the last at its end, and the others found
    /// leftmost-first in between.
    segs: Vec<Seg>,
}

impl Pattern {
    fn new(pat: &str, escape: Option<char>) -> Pattern {
        let pat: Vec<char> = pat.chars().collect();
        let mut segs = Vec::new();
        let mut cur = Vec::new();
        let mut i = 0;
        while i < pat.len() {
            let c = pat[i];
            if Some(c) == escape && i + 1 < pat.len() {
                cur.push(Some(pat[i + 1]));
                i += 2;
                continue;
            }
            match c {
                '%' => segs.push(Seg::new(std::mem::take(&mut cur))),
                '_' => cur.push(None),
                c => cur.push(Some(c)),
            }
            i += 1;
        }
        segs.push(Seg::new(cur));
        Pattern { segs }
    }
}

/// Whether `text` matches `pat`; `None` (*unknown*) when searching would
/// cost more than [`LIKE_BUDGET`] steps. Greedy leftmost matching of the
/// `%`-separated segments: linear for segments without `_`.
#[cfg(test)]
fn like(text: &str, pat: &Pattern) -> Option<bool> {
    like_within(text, pat, &mut { LIKE_BUDGET })
}

/// `like` with `budget` steps left, which it takes what it spends from.
fn like_within(text: &str, pat: &Pattern, budget: &mut u64) -> Option<bool> {
    let mut steps = 0;
    let r = like_steps(text, pat, &mut steps, *budget);
    *budget = budget.saturating_sub(steps);
    r
}

fn like_steps(text: &str, pat: &Pattern, steps: &mut u64, budget: u64) -> Option<bool> {
    let segs = &pat.segs;
    let (first, last) = (&segs[0], &segs[segs.len() - 1]);
    if segs.len() == 1 {
        return Some(first.match_at(text, steps) == Some(text.len()));
    }
    let Some(mut pos) = first.match_at(text, steps) else {
        return Some(false);
    };
    // The last segment ends the text, after what the first matched.
    let n = last.chars();
    let end = if n == 0 {
        text.len()
    } else {
        match text[pos..].char_indices().rev().nth(n - 1) {
            Some((i, _)) => pos + i,
            None => return Some(false),
        }
    };
    if last.match_at(&text[end..], steps).is_none() {
        return Some(false);
    }
    for seg in &segs[1..segs.len() - 1] {
        match seg.find(&text[pos..end], steps, budget) {
            Ok(Some(n)) => pos += n,
            Ok(None) => return Some(false),
            Err(()) => return None,
        }
    }
    Some(true)
}

fn eval<'c>(e: &'c Expr, cx: &'c Ctx<'_>) -> V<'c> {
    match e {
        Expr::Lit(l) => lit(l),
        Expr::Header(i) => match cx.headers[*i].get_or_init(|| header(HEADERS[*i], cx.m)) {
            V::Str(s) => V::Str(Cow::Borrowed(s)),
            v => v.clone(),
        },
        Expr::Prop(i) => cx.props[*i].map_or(V::Null, property),
        Expr::Neg(a) => match eval(a, cx) {
            V::Long(n) => n.checked_neg().map_or(V::Double(-(n as f64)), V::Long),
            V::Double(f) => V::Double(-f),
            _ => V::Null,
        },
        Expr::Arith(op, a, b) => arith(*op, eval(a, cx), eval(b, cx)),
        Expr::Cmp(op, a, b) => from_truth(compare(*op, &eval(a, cx), &eval(b, cx))),
        Expr::And(a, b) => {
            let x = truth(&eval(a, cx));
            if x == Some(false) {
                return V::Bool(false);
            }
            match (x, truth(&eval(b, cx))) {
                (_, Some(false)) => V::Bool(false),
                (Some(true), Some(true)) => V::Bool(true),
                _ => V::Null,
            }
        }
        Expr::Or(a, b) => {
            let x = truth(&eval(a, cx));
            if x == Some(true) {
                return V::Bool(true);
            }
            match (x, truth(&eval(b, cx))) {
                (_, Some(true)) => V::Bool(true),
                (Some(false), Some(false)) => V::Bool(false),
                _ => V::Null,
            }
        }
        Expr::Not(a) => from_truth(truth(&eval(a, cx)).map(|b| !b)),
        Expr::Between(a, lo, hi) => {
            let v = eval(a, cx);
            let ge = compare(Cmp::Ge, &v, &eval(lo, cx));
            let le = compare(Cmp::Le, &v, &eval(hi, cx));
            match (ge, le) {
                (Some(false), _) | (_, Some(false)) => V::Bool(false),
                (Some(true), Some(true)) => V::Bool(true),
                _ => V::Null,
            }
        }
        Expr::In(a, items) => {
            let v = eval(a, cx);
            if v == V::Null {
                return V::Null;
            }
            let mut unknown = false;
            for item in items {
                match compare(Cmp::Eq, &v, &lit(item)) {
                    Some(true) => return V::Bool(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown { V::Null } else { V::Bool(false) }
        }
        Expr::Like(a, pat) => match eval(a, cx) {
            V::Str(s) => {
                let mut left = cx.like_budget.get();
                let r = like_within(&s, pat, &mut left);
                cx.like_budget.set(left);
                from_truth(r)
            }
            _ => V::Null,
        },
        Expr::IsNull(a) => V::Bool(eval(a, cx) == V::Null),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::composite::Map;
    use crate::codec::sections::{Header, Properties};

    fn msg() -> Message {
        Message {
            application_properties: Some(Map(vec![
                (Value::String("colour".into()), Value::String("red".into())),
                (Value::String("weight".into()), Value::Int(12)),
                (Value::String("price".into()), Value::Double(2.5)),
                (Value::String("ok".into()), Value::Bool(true)),
                (Value::String("code".into()), Value::String("A_1%".into())),
            ])),
            header: Some(Header {
                priority: 7,
                durable: true,
                ..Default::default()
            }),
            properties: Some(Properties {
                subject: Some("order".into()),
                message_id: Some(Value::String("id-1".into())),
                creation_time: Some(crate::codec::Timestamp(1000)),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn check(sel: &str) -> bool {
        Selector::parse(sel)
            .unwrap_or_else(|e| panic!("{sel}: {e}"))
            .matches(&msg())
    }

    #[test]
    fn matching() {
        for (sel, want) in [
            ("colour = 'red'", true),
            ("colour = 'blue'", false),
            ("colour <> 'blue'", true),
            ("weight > 10 AND weight < 13", true),
            ("weight >= 12.0", true),
            ("price * 2 = 5", true),
            ("weight / 5 = 2", true),
            ("weight - -3 = 15", true),
            ("-weight = -12", true),
            ("weight + 1 = 0xD", true),
            ("ok", true),
            ("ok = TRUE", true),
            ("NOT ok", false),
            ("colour IN ('green', 'red')", true),
            ("colour NOT IN ('green', 'red')", false),
            ("weight IN (1, 12)", true),
            ("colour LIKE 'r%'", true),
            ("colour LIKE '_e_'", true),
            ("colour LIKE 're'", false),
            ("colour NOT LIKE '%d'", false),
            ("code LIKE 'A!_1!%' ESCAPE '!'", true),
            ("code LIKE 'A!_2%' ESCAPE '!'", false),
            ("weight BETWEEN 10 AND 12", true),
            ("weight NOT BETWEEN 10 AND 12", false),
            ("missing IS NULL", true),
            ("colour IS NOT NULL", true),
            ("JMSPriority = 7", true),
            ("JMSType = 'order'", true),
            ("JMSMessageID = 'id-1'", true),
            ("JMSDeliveryMode = 'PERSISTENT'", true),
            ("JMSTimestamp = 1000", true),
            ("JMSCorrelationID IS NULL", true),
            // three-valued logic
            ("missing = 1", false),
            ("NOT (missing = 1)", false),
            ("missing = 1 OR colour = 'red'", true),
            ("missing = 1 AND colour = 'red'", false),
            ("NOT (missing = 1 AND colour = 'blue')", true),
            ("missing IN ('a')", false),
            ("missing NOT IN ('a')", false),
            ("missing LIKE 'a'", false),
            ("missing NOT LIKE 'a'", false),
            ("colour = 1", false),
            ("NOT (colour = 1)", false),
            ("weight / 0 = 1", false),
            ("(colour = 'red') AND ((weight = 12))", true),
            ("colour = 'red' and Weight IS NULL", true),
            ("1 = 1", true),
            ("'it''s' = 'it''s'", true),
            ("-9223372036854775808 < 0", true),
        ] {
            assert_eq!(check(sel), want, "{sel}");
        }
    }

    #[test]
    fn refusals() {
        for (sel, col, has) in [
            ("", 1, "empty"),
            ("colour = ", 10, "expected an identifier"),
            ("colour == 'red'", 9, "expected an identifier"),
            ("colour = 'red", 10, "not closed"),
            ("colour = \"red\"", 10, "quoted identifiers"),
            ("a IS 3", 6, "NULL after IS"),
            ("a = NULL", 5, "IS [NOT] NULL"),
            ("a LIKE b", 8, "string pattern"),
            ("a LIKE 'x' ESCAPE 'ab'", 19, "one-character"),
            ("a BETWEEN 1 OR 2", 13, "AND in BETWEEN"),
            ("a IN (b)", 7, "literal in the IN list"),
            ("a NOT 3", 7, "BETWEEN, IN or LIKE"),
            ("(a = 1", 7, "')'"),
            ("a = 1)", 6, "end of the selector"),
            ("a = 99999999999999999999", 5, "out of range"),
            ("a = 12abc", 7, "after a number"),
            ("a # 1", 3, "unexpected character"),
            ("AND = 1", 1, "identifier or a literal"),
        ] {
            let e = Selector::parse(sel).expect_err(sel);
            assert_eq!(
                (e.column, e.reason.contains(has)),
                (col, true),
                "{sel}: {e}"
            );
        }
    }

    #[test]
    fn hostile() {
        let deep = format!("{}a = 1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(
            Selector::parse(&deep)
                .unwrap_err()
                .reason
                .contains("deeper")
        );
        let nots = format!("{}a", "NOT ".repeat(1000));
        assert!(
            Selector::parse(&nots)
                .unwrap_err()
                .reason
                .contains("deeper")
        );
        let chain = format!("a = 1{}", " + 1".repeat(3000));
        assert!(
            Selector::parse(&chain)
                .unwrap_err()
                .reason
                .contains("deeper")
        );
        let ors = vec!["a = 1"; 1000].join(" OR ");
        assert!(Selector::parse(&ors).unwrap_err().reason.contains("deeper"));
        let negs = format!("a = {}1", "-".repeat(5000));
        assert!(
            Selector::parse(&negs)
                .unwrap_err()
                .reason
                .contains("deeper")
        );
        let long = format!("a = '{}'", "x".repeat(MAX_LEN));
        assert!(
            Selector::parse(&long)
                .unwrap_err()
                .reason
                .contains("longer")
        );
        // LIKE with many %: polynomial, not exponential.
        let text = "a".repeat(2000);
        let pat = Pattern::new(&format!("{}b", "%a".repeat(50)), None);
        assert_eq!(like(&text, &pat), Some(false));
        // 99 levels are fine.
        let ok = format!("{}a = 1{}", "(".repeat(90), ")".repeat(90));
        assert!(Selector::parse(&ok).is_ok());
    }

    /// The matcher LIKE had before segments: one backtrack point, O(n·m).
    fn like_reference(text: &[char], pat: &[char], escape: Option<char>) -> bool {
        #[derive(Clone, Copy, PartialEq)]
        enum P {
            Lit(char),
            One,
            Any,
        }
        let mut ps = Vec::new();
        let mut i = 0;
        while i < pat.len() {
            let c = pat[i];
            if Some(c) == escape && i + 1 < pat.len() {
                ps.push(P::Lit(pat[i + 1]));
                i += 2;
                continue;
            }
            ps.push(match c {
                '%' => P::Any,
                '_' => P::One,
                c => P::Lit(c),
            });
            i += 1;
        }
        let (mut t, mut p) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match ps.get(p) {
                Some(P::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(P::One) => {
                    t += 1;
                    p += 1;
                }
                Some(P::Lit(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        ps[p..].iter().all(|x| *x == P::Any)
    }

    /// Every string of up to `max` characters from `alphabet`.
    fn strings(alphabet: &[char], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = vec![String::new()];
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    #[test]
    fn like_agrees_with_the_reference() {
        // Patterns with %, _, the escape and a multi-byte character;
        // texts that hold the special characters too.
        let pats = strings(&['a', 'é', '%', '_', '!'], 5);
        let texts = strings(&['a', 'é', '%', '!'], 4);
        for escape in [None, Some('!'), Some('%')] {
            for pat in &pats {
                let compiled = Pattern::new(pat, escape);
                let pc: Vec<char> = pat.chars().collect();
                for text in &texts {
                    let tc: Vec<char> = text.chars().collect();
                    assert_eq!(
                        like(text, &compiled),
                        Some(like_reference(&tc, &pc, escape)),
                        "{text:?} LIKE {pat:?} ESCAPE {escape:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn like_is_linear_on_long_text() {
        // A run of 1 MiB of 'a' against the patterns that were
        // O(text × pattern): each answers false after a linear scan.
        let text = "a".repeat(1 << 20);
        let long = "a".repeat(8000);
        for pat in [
            format!("%{long}b"),
            format!("%{long}b%"),
            format!("%{long}b%a"),
            format!("{}b", "%a".repeat(4000)),
            format!("%{long}%{long}b%"),
        ] {
            assert_eq!(
                like(&text, &Pattern::new(&pat, None)),
                Some(false),
                "{}",
                &pat[..20]
            );
        }
        for pat in [
            format!("%{long}"),
            format!("{long}%{long}"),
            format!("%{long}%a"),
        ] {
            assert_eq!(
                like(&text, &Pattern::new(&pat, None)),
                Some(true),
                "{}",
                &pat[..20]
            );
        }
        // Segments with '_' search naively, within the budget.
        let mut t = text.clone();
        t.push_str("xyzb");
        assert_eq!(like(&t, &Pattern::new("%x_z%", None)), Some(true));
        assert_eq!(like(&t, &Pattern::new("%a_yz_", None)), Some(true));
        // Through a selector and a message with the run as a property.
        let sel = Selector::parse(&format!("p LIKE '%{long}b'")).unwrap();
        let m = Message {
            application_properties: Some(Map(vec![(
                Value::String("p".into()),
                Value::String(text.clone().into()),
            )])),
            ..Default::default()
        };
        assert!(!sel.matches(&m));
        let sel = Selector::parse(&format!("p NOT LIKE '%{long}b%'")).unwrap();
        assert!(sel.matches(&m));
    }

    #[test]
    fn like_over_budget_is_unknown() {
        // Each of the 1 Mi starting places costs 8000 steps before the 'b'
        // fails: ~10^10 steps, cut off at the budget as unknown.
        let text = "a".repeat(1 << 20);
        let pat = Pattern::new(&format!("%{}b%", "a_".repeat(4000)), None);
        assert_eq!(like(&text, &pat), None);
        assert_eq!(like_within(&text, &pat, &mut 100_000), None);
        // With a generous budget a smaller case still answers.
        let short = "a".repeat(3000);
        assert_eq!(like_within(&short, &pat, &mut { u64::MAX }), Some(false));
        // The budget is spent across LIKEs (a selector's, on one message):
        // what one spends, the next no longer has.
        let mut left = u64::MAX;
        like_within(&short, &pat, &mut left);
        let cost = u64::MAX - left;
        assert!(cost > 1000, "{cost} steps");
        let mut left = cost + cost / 2;
        assert_eq!(like_within(&short, &pat, &mut left), Some(false));
        assert_eq!(like_within(&short, &pat, &mut left), None);
        // Unknown does not match, negated or not.
        let m = Message {
            application_properties: Some(Map(vec![(
                Value::String("p".into()),
                Value::String(text.into()),
            )])),
            ..Default::default()
        };
        for sel in [
            format!("p LIKE '%{}b%'", "a_".repeat(4000)),
            format!("p NOT LIKE '%{}b%'", "a_".repeat(4000)),
        ] {
            assert!(!Selector::parse(&sel).unwrap().matches(&m));
        }
    }

    #[test]
    fn refusals_quote_peer_text_escaped_and_short() {
        let e = Selector::parse("a 'x\u{1}\n\u{7f}\\y'").unwrap_err();
        assert_eq!(e.column, 3);
        assert!(
            e.reason.ends_with(r"found the string 'x\u{1}\n\u{7f}\\y'"),
            "{e}"
        );
        assert!(!e.reason.chars().any(char::is_control), "{e}");
        let long = format!("a '{}'", "\u{1b}[31m".repeat(3000));
        let e = Selector::parse(&long).unwrap_err();
        assert_eq!(e.column, 3);
        assert!(e.reason.ends_with("…'"), "{e}");
        assert!(e.reason.chars().count() < 200, "{e}");
        assert!(!e.reason.chars().any(char::is_control), "{e}");
        let e = Selector::parse(&format!("a b{}", "c".repeat(10_000))).unwrap_err();
        assert!(e.reason.chars().count() < 200, "{e}");
        let e = Selector::parse(&format!("a = 0x{}", "F".repeat(10_000))).unwrap_err();
        assert!(e.reason.chars().count() < 200, "{e}");
    }

    #[test]
    fn properties_are_looked_up_once_and_borrowed() {
        let m = Message {
            application_properties: Some(Map(vec![
                (Value::String("k".into()), Value::String("first".into())),
                (Value::String("k".into()), Value::String("second".into())),
                (Value::Symbol("s".into()), Value::Int(1)),
                (
                    Value::String("JMSType".into()),
                    Value::String("prop".into()),
                ),
                (Value::String("n".into()), Value::Int(3)),
            ])),
            ..Default::default()
        };
        for (sel, want) in [
            ("k = 'first'", true),
            ("k = 'second'", false),
            ("s IS NULL", true),
            ("JMSType IS NULL", true),
            ("n = 3 AND k = 'first' AND n + n = 6", true),
            ("n = 3 AND missing IS NULL", true),
        ] {
            assert_eq!(Selector::parse(sel).unwrap().matches(&m), want, "{sel}");
        }
        // Thousands of references to one property: one slot.
        let many = vec!["k = 'first'"; 90].join(" AND ");
        let sel = Selector::parse(&many).unwrap();
        assert_eq!(sel.props.len(), 1);
        assert!(sel.matches(&m));
        // Header text converted from a binary id: made once, then shared.
        let m = Message {
            properties: Some(Properties {
                message_id: Some(Value::Binary(b"id\xff".to_vec().into())),
                ..Default::default()
            }),
            ..Default::default()
        };
        let sel = Selector::parse(
            "JMSMessageID = 'id\u{fffd}' AND JMSMessageID LIKE 'i%' AND JMSType IS NULL",
        )
        .unwrap();
        assert!(sel.matches(&m));
    }
}
