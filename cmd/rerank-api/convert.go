package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/log"
	"github.com/urfave/cli/v2"

	"github.com/rerank-api/rerank-api/backend/llama"
	"github.com/rerank-api/rerank-api/convert"
	"github.com/rerank-api/rerank-api/convert/gguf"
	"github.com/rerank-api/rerank-api/envconfig"
)

func convertCommand() *cli.Command {
	return &cli.Command{
		Name:  "convert",
		Usage: "convert a Hugging Face checkpoint directory to GGUF",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "input", Required: true, Usage: "model directory (config.json, safetensors or pytorch_model.bin, tokenizer files)"},
			&cli.StringFlag{Name: "output", Required: true, Usage: "GGUF file to write"},
			&cli.StringFlag{Name: "outtype", Value: convert.DefaultOutType, Usage: strings.Join(gguf.FileTypeNames(), ", ")},
			&cli.IntFlag{Name: "threads", Usage: "quantization threads (default: all cores)"},
			logLevelFlag(true),
		},
		Before: quietLogging,
		Action: func(c *cli.Context) error {
			progress := newProgressLine(os.Stderr, "converting")
			err := convert.Convert(c.Context, convert.Options{
				Input:    c.String("input"),
				Output:   c.String("output"),
				OutType:  c.String("outtype"),
				Progress: progress.tensor,
				Warn:     func(msg string) { fmt.Fprintln(os.Stderr, "note:", msg) },
				Quantize: func(in, out, typ string) error {
					progress.done()
					fmt.Fprintf(os.Stderr, "quantizing to %s with llama.cpp...\n", typ)
					return quantize(in, out, typ, c.Int("threads"), newProgressLine(os.Stderr, "quantizing"))
				},
			})
			progress.done()
			if err != nil {
				return err
			}
			fmt.Fprintln(os.Stderr, "wrote", c.String("output"))
			return nil
		},
	}
}

func quantizeCommand() *cli.Command {
	return &cli.Command{
		Name:      "quantize",
		Usage:     "quantize a GGUF with llama.cpp's quantizer",
		ArgsUsage: "IN.gguf OUT.gguf TYPE   (TYPE: " + strings.Join(llama.QuantTypes(), ", ") + ")",
		Flags:     []cli.Flag{&cli.IntFlag{Name: "threads", Usage: "threads (default: all cores)"}, logLevelFlag(true)},
		Before:    quietLogging,
		Action: func(c *cli.Context) error {
			if c.NArg() != 3 {
				return fmt.Errorf("usage: rerank-api quantize IN.gguf OUT.gguf TYPE (TYPE: %s)", strings.Join(llama.QuantTypes(), ", "))
			}
			in, out, typ := c.Args().Get(0), c.Args().Get(1), c.Args().Get(2)
			// Write next to the output and rename, so a failed run leaves
			// nothing half-written under the final name.
			part := out + ".partial"
			defer os.Remove(part)
			progress := newProgressLine(os.Stderr, "quantizing")
			if err := quantize(in, part, typ, c.Int("threads"), progress); err != nil {
				return err
			}
			return os.Rename(part, out)
		},
	}
}

// quietLogging logs plain lines at --log-level (warn unless set) for pull,
// convert and quantize: llama.cpp's own log (hundreds of lines per model)
// shows at debug level.
func quietLogging(c *cli.Context) error {
	level, err := zerolog.ParseLevel(c.String(envconfig.LogLevel.Flag))
	if err != nil {
		return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", c.String(envconfig.LogLevel.Flag))
	}
	log.Logger = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}}).Level(level)
	return nil
}

func quantize(in, out, typ string, threads int, progress *progressLine) error {
	llama.Init("")
	defer progress.done()
	return llama.Quantize(in, out, typ, threads, progress.tensor)
}

// progressLine shows per-tensor progress: one rewritten line on a terminal,
// a line every tenth of the way otherwise (logs).
type progressLine struct {
	w        io.Writer
	label    string
	terminal bool
	lastTick int
	open     bool
}

func newProgressLine(f *os.File, label string) *progressLine {
	fi, err := f.Stat()
	return &progressLine{w: f, label: label, terminal: err == nil && fi.Mode()&os.ModeCharDevice != 0, lastTick: -1}
}

func (p *progressLine) tensor(done, total int, name string) {
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s [%d/%d] %s", p.label, done, total, name)
		p.open = true
		return
	}
	if tick := done * 10 / total; tick != p.lastTick {
		p.lastTick = tick
		fmt.Fprintf(p.w, "%s %d/%d tensors (%d%%)\n", p.label, done, total, done*100/total)
	}
}

func (p *progressLine) done() {
	if p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}
