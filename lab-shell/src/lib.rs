//! The lab shell: parser, line editor, built-ins, filters and the command registry.
