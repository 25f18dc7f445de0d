package jsonscan

import "unicode/utf8"

// AppendStringField appends name, a member's encoded key with what comes
// before and after it (`,"tool":`), and v as AppendString encodes it,
// unless v is empty: a string field tagged omitempty, as encoding/json
// writes it.
func AppendStringField(dst []byte, name, v string) []byte {
	if v == "" {
		return dst
	}
	return AppendString(append(dst, name...), v)
}

// AppendString appends s as a JSON string, byte for byte as encoding/json
// encodes a string (HTML escaping on): ", \ and control characters escaped (\b \f \n \r \t by name), <, >
// and & as \u003c \u003e \u0026, U+2028 and U+2029 escaped, each invalid
// UTF-8 byte as U+FFFD.
func AppendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if len(s)-i >= 8 && plain8(s, i) {
			i += 8 // most of a string is plain ASCII: eight bytes at a time
			continue
		}
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plain8 reports whether the eight bytes of s at i are ASCII that
// AppendString copies as they are: none below 0x20, no ", \, <, > or &.
func plain8(s string, i int) bool {
	w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
	return (w|(w-ones*0x20)&^w|zeroByte(w^ones*'"')|zeroByte(w^ones*'\\')|zeroByte(w^ones*'<')|zeroByte(w^ones*'>')|zeroByte(w^ones*'&'))&highs == 0
}

// zeroByte has the high bit of some byte set if x has a zero byte, and no
// high bit set if it has none.
func zeroByte(x uint64) uint64 { return (x - ones) &^ x }
