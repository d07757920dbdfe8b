package main

import (
	"context"
	"errors"
)

// bench runs "hookd bench". Being written.
func (c *cli) bench(ctx context.Context, args []string) error {
	return errors.New("bench: not written yet")
}

// benchBaseline runs the bare baseline server for "hookd bench".
func (c *cli) benchBaseline(ctx context.Context, args []string) error {
	return errors.New("bench: not written yet")
}
