pub mod merge;
pub mod segment;
pub mod template;
