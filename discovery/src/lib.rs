//! Pure dialect and type sniffing of delimited files: bytes in, a dialect out. No I/O, no
//! async, no network, so it can be fuzzed and benchmarked alone. Filled by the
//! file-storage issue.
