//! ABI v2: binary columnar batches (`docs/abi.md`, "ABI v2").
//!
//! [`Batch`] reads an input batch in place: every column is a view into
//! the bytes the host wrote, checked once when the batch is read so that no
//! accessor can read outside it or panic. [`Output`] builds the columns a
//! function adds or changes (an update of the input's rows) or new rows,
//! and lays them out as a batch.

use crate::Error;

const MAGIC: &[u8; 4] = b"SLCB";
const VERSION: u16 = 2;
const HEADER: usize = 16;
const MAX_COLUMNS: u32 = 4096;
const FLAG_NEW_ROWS: u16 = 1;

/// The type of a column, with its tag in the batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ColumnType {
    /// Every row is null; there are no values.
    Null = 0,
    Bool = 1,
    I64 = 2,
    F64 = 3,
    /// UTF-8 text.
    String = 4,
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    Timestamp = 5,
    /// The JSON text of one value per row (arrays, maps, mixed columns).
    Json = 6,
}

impl ColumnType {
    fn from_tag(tag: u8) -> Option<ColumnType> {
        Some(match tag {
            0 => ColumnType::Null,
            1 => ColumnType::Bool,
            2 => ColumnType::I64,
            3 => ColumnType::F64,
            4 => ColumnType::String,
            5 => ColumnType::Timestamp,
            6 => ColumnType::Json,
            _ => return None,
        })
    }

    /// `"null"`, `"bool"`, `"i64"`, `"f64"`, `"string"`, `"timestamp"`, `"json"`.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Null => "null",
            ColumnType::Bool => "bool",
            ColumnType::I64 => "i64",
            ColumnType::F64 => "f64",
            ColumnType::String => "string",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Json => "json",
        }
    }

    fn is_variable(self) -> bool {
        matches!(self, ColumnType::String | ColumnType::Json)
    }

    /// Bytes per row of a fixed-width type.
    fn width(self) -> usize {
        match self {
            ColumnType::Null | ColumnType::String | ColumnType::Json => 0,
            ColumnType::Bool => 1,
            ColumnType::I64 | ColumnType::F64 | ColumnType::Timestamp => 8,
        }
    }
}

fn pad8(n: usize) -> Option<usize> {
    n.checked_add(7).map(|n| n & !7)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

fn invalid(message: String) -> Error {
    Error::with_kind("invalid_input", message)
}

/// An input batch: `rows` rows of named, typed columns, read in place.
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    rows: usize,
    new_rows: bool,
    columns: Vec<Column<'a>>,
}

impl<'a> Batch<'a> {
    /// Reads and checks a batch. A malformed batch is an error of kind
    /// `invalid_input` saying what is wrong; nothing is copied.
    pub fn parse(bytes: &'a [u8]) -> Result<Batch<'a>, Error> {
        if bytes.len() < HEADER {
            return Err(invalid(format!(
                "the batch has {} bytes, fewer than its 16-byte header",
                bytes.len()
            )));
        }
        if &bytes[0..4] != MAGIC {
            return Err(invalid("the batch does not start with SLCB".into()));
        }
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        if version != VERSION {
            return Err(invalid(format!("batch version {}, not 2", version)));
        }
        let flags = u16::from_le_bytes([bytes[6], bytes[7]]);
        if flags & !FLAG_NEW_ROWS != 0 {
            return Err(invalid(format!("unknown batch flags {:#x}", flags)));
        }
        let rows = u32_at(bytes, 8) as usize;
        let ncolumns = u32_at(bytes, 12);
        if ncolumns > MAX_COLUMNS {
            return Err(invalid(format!(
                "{} columns, more than {}",
                ncolumns, MAX_COLUMNS
            )));
        }
        let too_big = || invalid(format!("{} rows is too many", rows));
        let bitmap = pad8((rows + 7) / 8).ok_or_else(too_big)?;
        let mut columns = Vec::with_capacity(ncolumns as usize);
        let mut p = HEADER;
        for k in 0..ncolumns {
            let cut = |what: &str| invalid(format!("column {}: its {} runs past the end of the batch", k, what));
            // Take `n` bytes from `p`, returning where they start.
            let take = |p: &mut usize, n: usize, what: &str| -> Result<usize, Error> {
                if bytes.len() - *p < n {
                    return Err(cut(what));
                }
                let at = *p;
                *p += n;
                Ok(at)
            };
            let head = take(&mut p, 8, "header")?;
            let name_len = u32_at(bytes, head) as usize;
            let tag = bytes[head + 4];
            let ty = ColumnType::from_tag(tag)
                .ok_or_else(|| invalid(format!("column {}: unknown type tag {}", k, tag)))?;
            let name_at = take(&mut p, pad8(name_len).ok_or_else(|| cut("name"))?, "name")?;
            let name = std::str::from_utf8(&bytes[name_at..name_at + name_len])
                .map_err(|_| invalid(format!("column {}: its name is not UTF-8", k)))?;
            let valid_at = take(&mut p, bitmap, "validity bitmap")?;
            let valid = &bytes[valid_at..valid_at + (rows + 7) / 8];
            let (values, offsets) = if ty.is_variable() {
                let n = rows
                    .checked_add(1)
                    .and_then(|n| n.checked_mul(4))
                    .ok_or_else(too_big)?;
                let at = take(&mut p, pad8(n).ok_or_else(too_big)?, "offsets")?;
                let offsets = &bytes[at..at + n];
                let mut last = 0u32;
                for r in 0..=rows {
                    let o = u32_at(offsets, r * 4);
                    if (r == 0 && o != 0) || o < last {
                        return Err(invalid(format!(
                            "column {} ('{}'): offset {} is {}, after {}",
                            k, name, r, o, last
                        )));
                    }
                    last = o;
                }
                let len = last as usize;
                let at = take(&mut p, pad8(len).ok_or_else(too_big)?, "values")?;
                (&bytes[at..at + len], offsets)
            } else {
                let n = rows.checked_mul(ty.width()).ok_or_else(too_big)?;
                let at = take(&mut p, pad8(n).ok_or_else(too_big)?, "values")?;
                (&bytes[at..at + n], &[][..])
            };
            columns.push(Column {
                name,
                ty,
                rows,
                valid,
                values,
                offsets,
            });
        }
        if p != bytes.len() {
            return Err(invalid(format!(
                "{} bytes follow the last column",
                bytes.len() - p
            )));
        }
        Ok(Batch {
            rows,
            new_rows: flags & FLAG_NEW_ROWS != 0,
            columns,
        })
    }

    /// The number of rows (records of the window).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the batch has the `NEW_ROWS` flag (only outputs have it).
    pub fn is_new_rows(&self) -> bool {
        self.new_rows
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column<'a>] {
        &self.columns
    }

    /// The column of that name, if there is one.
    pub fn column(&self, name: &str) -> Option<&Column<'a>> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The column of that name, which must be of one of `types`: else an
    /// error of kind `invalid_input` naming the column.
    pub fn require(&self, name: &str, types: &[ColumnType]) -> Result<&Column<'a>, Error> {
        let column = self
            .column(name)
            .ok_or_else(|| invalid(format!("no column '{}'", name)))?;
        if !types.contains(&column.ty) {
            let wanted: Vec<&str> = types.iter().map(|t| t.name()).collect();
            return Err(invalid(format!(
                "column '{}' is {}, not {}",
                name,
                column.ty.name(),
                wanted.join(" or ")
            )));
        }
        Ok(column)
    }
}

/// A column of a [`Batch`]: views into the batch's bytes.
///
/// The typed accessors take a row and return `None` for a null row, a row
/// past the end, or a column of another type.
#[derive(Debug, Clone, Copy)]
pub struct Column<'a> {
    name: &'a str,
    ty: ColumnType,
    rows: usize,
    valid: &'a [u8],
    values: &'a [u8],
    offsets: &'a [u8],
}

impl<'a> Column<'a> {
    pub fn name(&self) -> &'a str {
        self.name
    }

    pub fn ty(&self) -> ColumnType {
        self.ty
    }

    /// The number of rows (the batch's).
    pub fn len(&self) -> usize {
        self.rows
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Whether row `row` holds a value (false past the end).
    pub fn is_valid(&self, row: usize) -> bool {
        row < self.rows
            && self.ty != ColumnType::Null
            && self.valid[row / 8] >> (row % 8) & 1 == 1
    }

    /// Whether row `row` is null.
    pub fn is_null(&self, row: usize) -> bool {
        !self.is_valid(row)
    }

    fn fixed(&self, row: usize, ty: ColumnType) -> Option<u64> {
        if self.ty != ty || !self.is_valid(row) {
            return None;
        }
        Some(u64_at(self.values, row * 8))
    }

    pub fn bool(&self, row: usize) -> Option<bool> {
        if self.ty != ColumnType::Bool || !self.is_valid(row) {
            return None;
        }
        Some(self.values[row] != 0)
    }

    pub fn i64(&self, row: usize) -> Option<i64> {
        self.fixed(row, ColumnType::I64).map(|v| v as i64)
    }

    pub fn f64(&self, row: usize) -> Option<f64> {
        self.fixed(row, ColumnType::F64).map(f64::from_bits)
    }

    /// A timestamp, in nanoseconds since 1970-01-01T00:00:00Z.
    pub fn timestamp(&self, row: usize) -> Option<i64> {
        self.fixed(row, ColumnType::Timestamp).map(|v| v as i64)
    }

    /// An i64 or f64 value as an f64.
    pub fn number(&self, row: usize) -> Option<f64> {
        self.f64(row).or_else(|| self.i64(row).map(|v| v as f64))
    }

    /// The bytes of a string or json row.
    pub fn bytes(&self, row: usize) -> Option<&'a [u8]> {
        if !self.ty.is_variable() || !self.is_valid(row) {
            return None;
        }
        let start = u32_at(self.offsets, row * 4) as usize;
        let end = u32_at(self.offsets, row * 4 + 4) as usize;
        self.values.get(start..end)
    }

    /// A string row (`None` also when its bytes are not UTF-8).
    pub fn str(&self, row: usize) -> Option<&'a str> {
        if self.ty != ColumnType::String {
            return None;
        }
        self.bytes(row).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The JSON text of a json row.
    pub fn json(&self, row: usize) -> Option<&'a str> {
        if self.ty != ColumnType::Json {
            return None;
        }
        self.bytes(row).and_then(|b| std::str::from_utf8(b).ok())
    }

    pub fn bools(&self) -> impl Iterator<Item = Option<bool>> + 'a {
        let c = *self;
        (0..c.rows).map(move |r| c.bool(r))
    }

    pub fn i64s(&self) -> impl Iterator<Item = Option<i64>> + 'a {
        let c = *self;
        (0..c.rows).map(move |r| c.i64(r))
    }

    pub fn f64s(&self) -> impl Iterator<Item = Option<f64>> + 'a {
        let c = *self;
        (0..c.rows).map(move |r| c.f64(r))
    }

    pub fn numbers(&self) -> impl Iterator<Item = Option<f64>> + 'a {
        let c = *self;
        (0..c.rows).map(move |r| c.number(r))
    }

    pub fn timestamps(&self) -> impl Iterator<Item = Option<i64>> + 'a {
        let c = *self;
        (0..c.rows).map(move |r| c.timestamp(r))
    }

    pub fn strs(&self) -> impl Iterator<Item = Option<&'a str>> + 'a {
        let c = *self;
        (0..c.rows).map(move |r| c.str(r))
    }
}

#[derive(Debug, Clone)]
enum Values {
    Null,
    Bool(Vec<u8>),
    Fixed(Vec<u64>),
    Var { offsets: Vec<u32>, bytes: Vec<u8> },
}

#[derive(Debug, Clone)]
struct OutColumn {
    name: String,
    ty: ColumnType,
    valid: Vec<u8>,
    values: Values,
}

/// The output of a [`BatchFunction`](crate::BatchFunction): the columns
/// it adds or changes, or new rows.
///
/// Each `add_*` method adds one column from an iterator of exactly
/// [`rows()`](Output::rows) items, `None` for a null row. A wrong count or
/// a name added twice is an error of kind `invalid_output`.
#[derive(Debug, Clone)]
pub struct Output {
    rows: usize,
    new_rows: bool,
    columns: Vec<OutColumn>,
}

fn invalid_output(message: String) -> Error {
    Error::with_kind("invalid_output", message)
}

impl Output {
    /// An update of the input's rows: row `r` of each column is merged into
    /// input record `r`, adding or replacing that field.
    pub fn update(input: &Batch<'_>) -> Output {
        Output {
            rows: input.rows,
            new_rows: false,
            columns: Vec::new(),
        }
    }

    /// `rows` new records (the `NEW_ROWS` flag), with the output's columns
    /// as their fields.
    pub fn new_rows(rows: usize) -> Output {
        Output {
            rows,
            new_rows: true,
            columns: Vec::new(),
        }
    }

    /// The number of rows every column must have.
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn is_new_rows(&self) -> bool {
        self.new_rows
    }

    fn add<T, I, F>(&mut self, name: &str, ty: ColumnType, items: I, mut put: F) -> Result<&mut Self, Error>
    where
        I: IntoIterator<Item = Option<T>>,
        F: FnMut(&mut Values, Option<T>) -> Result<(), Error>,
    {
        if self.columns.iter().any(|c| c.name == name) {
            return Err(invalid_output(format!("column '{}' added twice", name)));
        }
        if self.columns.len() >= MAX_COLUMNS as usize {
            return Err(invalid_output(format!("more than {} columns", MAX_COLUMNS)));
        }
        let mut valid = vec![0u8; (self.rows + 7) / 8];
        let mut values = match ty {
            ColumnType::Null => Values::Null,
            ColumnType::Bool => Values::Bool(Vec::with_capacity(self.rows)),
            ColumnType::String | ColumnType::Json => Values::Var {
                offsets: vec![0],
                bytes: Vec::new(),
            },
            _ => Values::Fixed(Vec::with_capacity(self.rows)),
        };
        let mut n = 0;
        for item in items {
            if n == self.rows {
                return Err(invalid_output(format!(
                    "column '{}' has more than {} rows",
                    name, self.rows
                )));
            }
            if item.is_some() {
                valid[n / 8] |= 1 << (n % 8);
            }
            put(&mut values, item)?;
            n += 1;
        }
        if n != self.rows {
            return Err(invalid_output(format!(
                "column '{}' has {} rows, not {}",
                name, n, self.rows
            )));
        }
        self.columns.push(OutColumn {
            name: name.to_owned(),
            ty,
            valid,
            values,
        });
        Ok(self)
    }

    fn add_fixed<T, I>(&mut self, name: &str, ty: ColumnType, items: I, bits: fn(T) -> u64) -> Result<&mut Self, Error>
    where
        I: IntoIterator<Item = Option<T>>,
    {
        self.add(name, ty, items, |values, v| {
            if let Values::Fixed(vec) = values {
                vec.push(v.map(bits).unwrap_or(0));
            }
            Ok(())
        })
    }

    fn add_var<S, I>(&mut self, name: &str, ty: ColumnType, items: I) -> Result<&mut Self, Error>
    where
        S: AsRef<str>,
        I: IntoIterator<Item = Option<S>>,
    {
        let column = name.to_owned();
        self.add(name, ty, items, |values, v| {
            if let Values::Var { offsets, bytes } = values {
                if let Some(s) = v {
                    bytes.extend_from_slice(s.as_ref().as_bytes());
                }
                let end = u32::try_from(bytes.len()).map_err(|_| {
                    invalid_output(format!("column '{}' holds more than 4 GiB", column))
                })?;
                offsets.push(end);
            }
            Ok(())
        })
    }

    /// A column whose every row is null.
    pub fn add_null(&mut self, name: &str) -> Result<&mut Self, Error> {
        let rows = self.rows;
        self.add(name, ColumnType::Null, (0..rows).map(|_| None::<()>), |_, _| Ok(()))
    }

    pub fn add_bool<I: IntoIterator<Item = Option<bool>>>(&mut self, name: &str, items: I) -> Result<&mut Self, Error> {
        self.add(name, ColumnType::Bool, items, |values, v| {
            if let Values::Bool(vec) = values {
                vec.push(v.unwrap_or(false) as u8);
            }
            Ok(())
        })
    }

    pub fn add_i64<I: IntoIterator<Item = Option<i64>>>(&mut self, name: &str, items: I) -> Result<&mut Self, Error> {
        self.add_fixed(name, ColumnType::I64, items, |v| v as u64)
    }

    pub fn add_f64<I: IntoIterator<Item = Option<f64>>>(&mut self, name: &str, items: I) -> Result<&mut Self, Error> {
        self.add_fixed(name, ColumnType::F64, items, f64::to_bits)
    }

    /// Timestamps in nanoseconds since 1970-01-01T00:00:00Z.
    pub fn add_timestamp<I: IntoIterator<Item = Option<i64>>>(&mut self, name: &str, items: I) -> Result<&mut Self, Error> {
        self.add_fixed(name, ColumnType::Timestamp, items, |v| v as u64)
    }

    pub fn add_str<S: AsRef<str>, I: IntoIterator<Item = Option<S>>>(&mut self, name: &str, items: I) -> Result<&mut Self, Error> {
        self.add_var(name, ColumnType::String, items)
    }

    /// JSON text, one value per row (the host checks that it is JSON).
    pub fn add_json<S: AsRef<str>, I: IntoIterator<Item = Option<S>>>(&mut self, name: &str, items: I) -> Result<&mut Self, Error> {
        self.add_var(name, ColumnType::Json, items)
    }

    /// Lays the output out as a batch (docs/abi.md).
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        let rows = u32::try_from(self.rows)
            .map_err(|_| invalid_output(format!("{} rows is too many", self.rows)))?;
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        let flags: u16 = if self.new_rows { FLAG_NEW_ROWS } else { 0 };
        out.extend_from_slice(&flags.to_le_bytes());
        out.extend_from_slice(&rows.to_le_bytes());
        out.extend_from_slice(&(self.columns.len() as u32).to_le_bytes());
        fn put(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(bytes);
            out.resize((out.len() + 7) & !7, 0);
        }
        for c in &self.columns {
            let name_len = u32::try_from(c.name.len())
                .map_err(|_| invalid_output("a column name is too long".into()))?;
            out.extend_from_slice(&name_len.to_le_bytes());
            out.extend_from_slice(&[c.ty as u8, 0, 0, 0]);
            put(&mut out, c.name.as_bytes());
            put(&mut out, &c.valid);
            match &c.values {
                Values::Null => {}
                Values::Bool(v) => put(&mut out, v),
                Values::Fixed(v) => {
                    for x in v {
                        out.extend_from_slice(&x.to_le_bytes());
                    }
                }
                Values::Var { offsets, bytes } => {
                    for o in offsets {
                        out.extend_from_slice(&o.to_le_bytes());
                    }
                    out.resize((out.len() + 7) & !7, 0);
                    put(&mut out, bytes);
                }
            }
        }
        Ok(out)
    }
}
