package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/hookd/hookd/internal/signing"
)

// sign runs "hookd sign": it prints a correctly signed request to a service
// so anyone can try it by hand.
func (c *cli) sign(args []string) error {
	fs := c.flags("sign", "Prints the headers and a ready curl line for a correctly signed request to a service.")
	path := fs.String("config", "", "configuration `file` (default $HOOKD_CONFIG, else the zero-config defaults)")
	name := fs.String("service", "", "the service to sign for (required)")
	bodyFrom := fs.String("body", "", "the body: a `file`, or - for standard input (default: a sample JSON body)")
	asJSON := fs.Bool("json", false, "print {\"url\", \"headers\", \"body\"} as JSON instead")
	base := fs.String("url", "", "where to send it: a base `URL` (/webhooks/NAME is appended) or the full URL, path included (default: the listen address)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *name == "" {
		fmt.Fprintln(c.stderr, "hookd sign: --service is required")
		return errUsage
	}
	if u, err := url.Parse(*base); *base != "" && (err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https") {
		fmt.Fprintf(c.stderr, "hookd sign: --url: %q is not an http:// or https:// URL with a host\n", *base)
		return errUsage
	}
	l, err := loadConfig(*path)
	if err != nil {
		return err
	}
	svc := l.services[*name]
	if svc == nil {
		return fmt.Errorf("sign: no service %q is configured", *name)
	}
	var body []byte
	switch *bodyFrom {
	case "":
		body = signing.SampleBody(signing.RandomID())
	case "-":
		body, err = io.ReadAll(io.LimitReader(c.stdin, 64<<20))
	default:
		body, err = os.ReadFile(*bodyFrom)
	}
	if err != nil {
		return fmt.Errorf("sign: body: %w", err)
	}
	req, err := signing.Sign(svc, cmp.Or(*base, signing.PublicURL(l.cfg.Listen)), body, time.Now())
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if *asJSON {
		return json.NewEncoder(c.stdout).Encode(req)
	}
	file := *bodyFrom // curl sends the file's exact bytes itself
	if file == "-" {
		file = ""
	}
	return req.Write(c.stdout, file)
}
