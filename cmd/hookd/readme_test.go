package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
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
