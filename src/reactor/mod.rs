//! The mio event loop (filled in by the event-loop issue).
