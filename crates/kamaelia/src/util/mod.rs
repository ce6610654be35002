//! Everyday components: the small pieces most Kamaelia systems are wired from.
//!
//! Every constructor here returns an [`axon::Prefab`] — a component declared and
//! given its body but not yet running — so it can be spawned on a
//! [`System`](axon::System), spawned as a child, or handed to a chassis.
//!
//! | Component | In | Out | What it does |
//! |---|---|---|---|
//! | [`pure_transformer`](fn@pure_transformer) | `T` | `U` | applies `FnMut(T) -> Option<U>`; `None` drops the message |
//! | [`filter`](fn@filter) | `T` | `T` | passes on what a predicate accepts |
//! | [`data_source`](fn@data_source) | — | `T` | sends the items of an iterator, then `ProducerFinished` |
//! | [`one_shot`](fn@one_shot) | — | `T` | sends one message, then `ProducerFinished` |
//! | [`null_sink`](fn@null_sink) | `T` | — | discards everything |
//! | [`Clock`] | — | `u64` | a tick every period (kernel timers, no busy-waiting) |
//! | [`collector`](fn@collector) | `T` | — | keeps everything, readable through a [`Collected`] handle |
//! | [`ConsoleReader`] | — | `String` | lines from stdin or any `BufRead` (threaded) |
//! | [`ConsoleEchoer`] | `T` | `T` | writes to stdout or any `Write`; optionally forwards |
//! | [`Marshaller`] / [`DeMarshaller`] | `T` / wire | wire / `T` | encode/decode with a [`Codec`] ([`Json`], [`JsonString`]) |
//! | [`LineSplitter`] | bytes | lines | complete lines from a byte stream |
//! | [`Framer`] / [`DeFramer`] | payloads / bytes | frames / payloads | length-prefixed framing |
//! | [`fanout`](fn@fanout) | `T` | `T` × named | copies each message to fixed, named outboxes |
//! | [`Splitter`] | `T` | `T` × sinks | copies each message to sinks added and removed while running |
//! | [`pass_through`](fn@pass_through) | `T` | `T` | forwards everything unchanged |
//! | [`detuple`](fn@detuple) | `(A, B, ..)` | one field | takes field `I` of each tuple ([`TupleField`]) |
//! | [`two_way_splitter`](fn@two_way_splitter) | `T` | `T` × 2 | each message (and the ending signal) to two places |
//! | [`comparator`](fn@comparator) / [`combiner`](fn@combiner) | `A` + `B` | `bool` / `U` | pairs up two streams item by item |
//! | [`Throttle`] | `T` | `T` | passes messages on no faster than a rate, optionally after filling a buffer |
//! | [`RateControl`] | new rate | chunk sizes | says how much to send, at a steady rate (drives a source) |
//! | [`ReadFileAdaptor`] | — | `Bytes` | a file as chunks or lines, as fast as taken or at a set pace (threaded) |
//! | [`SimpleFileWriter`] | bytes (`AsRef<[u8]>`) | — | writes its input to a file (threaded) |
//! | [`Introspector`] | — | [`TopologyChange`] | streams its system's components, boxes and linkages as they change |
//! | [`Chooser`] / [`ForwardIteratingChooser`] | [`ChooserCommand`] | `T` | steps through a list (or an iterator) on command |
//!
//! ## Boxes and the shutdown convention
//!
//! Every component has the Kamaelia boxes `inbox`, `control` (carrying
//! [`Signal`](axon::Signal)), `outbox` and `signal`, even where one is unused (a
//! source's `inbox` carries `()`), so a chassis can wire any of them in a row.
//! All of them follow the convention of Axon's `Ipc` messages, implemented once
//! in [`Intake`]:
//!
//! * `ProducerFinished` at `control`: finish what is already in `inbox`, send
//!   `ProducerFinished` out of `signal`, end;
//! * `ShutdownMicroprocess` (or a `Failed` passed down a chain): send it out of
//!   `signal` and end at once, leaving any unread input;
//! * `inbox` closed (every sender gone and nothing left): send
//!   `ProducerFinished` out of `signal` and end.
//!
//! A component whose `outbox` destination has closed (its consumer ended) fails
//! with [`DestinationClosed`]: the message could not be delivered, and the
//! failure shows up as [`Signal::Failed`](axon::Signal::Failed) on `signal`.
//! Bad input (undecodable bytes, an over-long line) is reported as a typed
//! error on an `error` outbox, never as a panic. Error reports never hold up
//! the data: an `error` outbox keeps at most 64 reports while unlinked, and a
//! report that cannot be delivered is logged (`tracing`, `warn`) instead.

pub mod chooser;
pub mod clock;
pub mod collector;
pub mod comparator;
pub mod console;
pub mod data_source;
pub mod detuple;
pub mod fanout;
pub mod file_writer;
pub mod filter;
pub mod framing;
pub mod intake;
pub mod introspector;
pub mod lines;
pub mod marshalling;
pub mod null_sink;
pub mod one_shot;
pub mod pass_through;
pub mod rate_control;
pub mod read_file;
pub mod splitter;
pub mod throttle;
pub mod transformer;
pub mod two_way_splitter;

pub use chooser::{Chooser, ChooserCommand, ForwardIteratingChooser, UnknownCommand};
pub use clock::Clock;
pub use collector::{collector, Collected};
pub use comparator::{combiner, comparator};
pub use console::{ConsoleEchoer, ConsoleReader};
pub use data_source::data_source;
pub use detuple::{detuple, TupleField};
pub use fanout::fanout;
pub use file_writer::SimpleFileWriter;
pub use filter::filter;
pub use framing::{DeFramer, FrameError, Framer, DEFAULT_MAX_FRAME};
pub use intake::{DestinationClosed, Intake};
pub use introspector::{Introspector, Topology, TopologyChange};
pub use lines::{LineError, LineSplitter, DEFAULT_MAX_LINE};
pub use marshalling::{Codec, DeMarshaller, Json, JsonString, MarshalError, MarshalErrorKind, Marshaller};
pub use null_sink::null_sink;
pub use one_shot::one_shot;
pub use pass_through::pass_through;
pub use rate_control::RateControl;
pub use read_file::{FileError, ReadFileAdaptor};
pub use splitter::{Splitter, SplitterCommand, SplitterError};
pub use throttle::Throttle;
pub use transformer::pure_transformer;
pub use two_way_splitter::two_way_splitter;
