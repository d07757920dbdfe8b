package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEConfigurationsLoad keeps the README honest: every YAML block in
// it must pass "hookd config check".
func TestREADMEConfigurationsLoad(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"HOOKD_ADMIN_TOKEN", "ADAPTER_1_SECRET", "ADAPTER_2_SECRET", "GITHUB_WEBHOOK_SECRET",
		"PARTNER_SECRET", "STRIPE_WEBHOOK_SECRET", "SHOPIFY_API_SECRET", "SLACK_SIGNING_SECRET", "TWILIO_AUTH_TOKEN",
		"PARTNER_PASSWORD", "INTERNAL_KEY", "HOOKD_CONFIG", "HOOKD_DATABASE_URL"} {
		t.Setenv(v, "readme-"+v)
	}
	t.Setenv("SW_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	t.Setenv("HOOKD_DATABASE_URL", "")
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) < 2 {
		t.Fatalf("found %d YAML blocks in the README", len(blocks))
	}
	for i, b := range blocks {
		path := filepath.Join(t.TempDir(), "hookd.yaml")
		os.WriteFile(path, b[1], 0o600)
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{"config", "check", "--config", path}, nil, &stdout, &stderr); code != 0 {
			t.Errorf("README YAML block %d: exit %d\n%s\n%s", i+1, code, stderr.String(), b[1])
		}
	}
}

// TestUsageListsTheREADMEsCommands: every command of the README's CLI
// block, with each of its flags, is in "hookd --help".
func TestUsageListsTheREADMEsCommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)## CLI\n\n```\n(.*?)```").FindSubmatch(readme)
	if block == nil {
		t.Fatal("no CLI block in the README")
	}
	var out bytes.Buffer
	run(context.Background(), []string{"--help"}, nil, &out, &out)
	word, flag := regexp.MustCompile(`^hookd( [a-z]+)*`), regexp.MustCompile(`--[a-z-]+`)
	for line := range strings.SplitSeq(strings.TrimSpace(string(block[1])), "\n") {
		command := word.FindString(line)
		usageLine := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(command) + `( .*)?$`).FindString(out.String())
		if usageLine == "" {
			t.Errorf("--help lacks %q", command)
			continue
		}
		if strings.Contains(usageLine, "[flags]") {
			continue // the command's own --help lists them
		}
		for _, f := range flag.FindAllString(line, -1) {
			if !strings.Contains(usageLine, f) {
				t.Errorf("--help's %q line lacks %s", command, f)
			}
		}
	}
}
