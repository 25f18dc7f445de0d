package signin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// Mailer sends one plain-text message to one address.
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// SMTPMailer sends mail through the configured server: smtps:// speaks TLS
// from the first byte, smtp:// upgrades with STARTTLS when the server
// offers it, and the credentials go only over TLS (or to localhost).
type SMTPMailer struct {
	cfg SMTPConfig
	// TLSConfig is for the server's certificate (nil: the system's roots).
	TLSConfig *tls.Config
	now       func() time.Time
}

// NewSMTPMailer returns a Mailer over cfg.
func NewSMTPMailer(cfg SMTPConfig) *SMTPMailer { return &SMTPMailer{cfg: cfg, now: time.Now} }

// Send delivers the message, within ctx's deadline (30s without one). to
// must be a bare address (agentscope.NormalizeEmail).
func (m *SMTPMailer) Send(ctx context.Context, to, subject, body string) error {
	if strings.ContainsAny(to, "\r\n<>,") {
		return fmt.Errorf("send mail: bad recipient")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	if err := m.send(ctx, to, m.message(to, subject, body)); err != nil {
		return fmt.Errorf("send mail via %s: %w", m.cfg.addr(), err)
	}
	return nil
}

func (m *SMTPMailer) tlsConfig() *tls.Config {
	c := &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12}
	if m.TLSConfig != nil {
		c = m.TLSConfig.Clone()
		if c.ServerName == "" {
			c.ServerName = m.cfg.Host
		}
	}
	return c
}

func (m *SMTPMailer) send(ctx context.Context, to string, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.cfg.addr())
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if m.cfg.TLS {
		conn = tls.Client(conn, m.tlsConfig())
	}
	c, err := smtp.NewClient(conn, m.cfg.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !m.cfg.TLS {
		if err := c.StartTLS(m.tlsConfig()); err != nil {
			return err
		}
	}
	if m.cfg.Username != "" {
		// PlainAuth refuses to send the password in the clear except
		// to localhost.
		if err := c.Auth(smtp.PlainAuth("", m.cfg.Username, m.cfg.Password, m.cfg.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(m.cfg.From); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// message builds the RFC 5322 message: a UTF-8 subject (RFC 2047) and a
// quoted-printable plain-text body.
func (m *SMTPMailer) message(to, subject, body string) []byte {
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := "agentscope.local"
	if _, d, ok := strings.Cut(m.cfg.From, "@"); ok {
		domain = d
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s@%s>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\nAuto-Submitted: auto-generated\r\n\r\n",
		m.cfg.From, to, mime.QEncoding.Encode("utf-8", subject), m.now().UTC().Format(time.RFC1123Z), hex.EncodeToString(id), domain)
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}
