package mecab

import (
	"bufio"
	"os"
	"strings"
)

// readConfig reads a MeCab resource file (dicrc, mecabrc) the way
// Param::load does: "key = value" lines, ';' or '#' starts a comment line,
// and the first definition of a key wins.
func readConfig(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	conf := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == ';' || line[0] == '#' {
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if _, seen := conf[key]; !seen {
			conf[key] = value
		}
	}
	return conf, sc.Err()
}

// expandRCPath replaces $(rcpath), which mecabrc files may use in dicdir,
// with the directory of the resource file.
func expandRCPath(dicdir, rcdir string) string {
	return strings.ReplaceAll(dicdir, "$(rcpath)", rcdir)
}
