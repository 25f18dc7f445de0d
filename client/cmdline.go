package client

import (
	"errors"
	"fmt"
	"strings"
)

// ParseCommandLine splits a shell-like command line into words, so that a
// configured server command such as
//
//	npx -y mcp-remote https://splunk:8089/services/mcp --header "Authorization: Bearer x"
//
// becomes a program and its arguments. It follows POSIX shell quoting:
// words are separated by unquoted spaces, tabs and newlines; '…' is taken
// literally; inside "…" a backslash escapes only $, `, ", \ and newline;
// outside quotes a backslash escapes any character, and backslash-newline
// joins lines. Nothing else of the shell applies: no variables, globs,
// pipes or redirections, so such characters are ordinary text.
//
// Errors give the byte offset of the problem but never the text, which
// may hold secrets.
func ParseCommandLine(s string) ([]string, error) {
	var (
		words   []string
		word    strings.Builder
		inWord  bool // a word has started, even if empty ("" or '')
		quote   byte // 0, '\'' or '"'
		quoteAt int
	)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch quote {
		case '\'':
			if ch == '\'' {
				quote = 0
			} else {
				word.WriteByte(ch)
			}
		case '"':
			switch {
			case ch == '"':
				quote = 0
			case ch == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0:
				i++
				if s[i] != '\n' {
					word.WriteByte(s[i])
				}
			default:
				word.WriteByte(ch)
			}
		default:
			switch ch {
			case ' ', '\t', '\n', '\r':
				if inWord {
					words = append(words, word.String())
					word.Reset()
					inWord = false
				}
			case '\'', '"':
				quote, quoteAt, inWord = ch, i, true
			case '\\':
				if i+1 == len(s) {
					return nil, fmt.Errorf("parse command line: trailing backslash at offset %d", i)
				}
				i++
				if s[i] != '\n' {
					word.WriteByte(s[i])
					inWord = true
				}
			default:
				word.WriteByte(ch)
				inWord = true
			}
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("parse command line: unterminated %c quote opened at offset %d", quote, quoteAt)
	}
	if inWord {
		words = append(words, word.String())
	}
	if len(words) == 0 {
		return nil, errors.New("parse command line: no command given")
	}
	return words, nil
}
