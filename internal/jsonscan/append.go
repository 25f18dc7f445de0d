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
