// The baseline of scripts/bench/helm-render.sh: a chart's templates rendered the way Helm's
// engine renders them (Go's text/template with missingkey=zero, Sprig's function map without
// env/expandenv, include/tpl/toYaml/required/fromYaml as Helm defines them, one template set
// parsed per render, "<no value>" removed), timed per render. Written here for the benchmark;
// then each rendered file split into documents and each document read into Helm's SimpleHead
// (kind, name, annotations) through sigs.k8s.io/yaml, as releaseutil.SortManifests does. It
// leaves out values coalescing and the final sort and text, which Convoy's timed render does.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig"
	"sigs.k8s.io/yaml"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func toYaml(v interface{}) string {
	data, err := yaml.Marshal(v)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(data), "\n")
}

// Helm's releaseutil.SimpleHead.
type SimpleHead struct {
	Version  string `json:"apiVersion"`
	Kind     string `json:"kind,omitempty"`
	Metadata *struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata,omitempty"`
}

var separator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

func heads(files map[string]string) int {
	count := 0
	for name, text := range files {
		// Helm renders NOTES.txt but leaves it out of the manifests.
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for _, piece := range separator.Split(strings.TrimSpace(text), -1) {
			if strings.TrimSpace(piece) == "" {
				continue
			}
			var head SimpleHead
			if err := yaml.Unmarshal([]byte(piece), &head); err != nil {
				must(fmt.Errorf("YAML parse error on %s: %v", name, err))
			}
			count++
		}
	}
	return count
}

func render(names []string, sources map[string]string, data map[string]interface{}) map[string]string {
	t := template.New("gotpl").Option("missingkey=zero")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	funcs["toYaml"] = toYaml
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	// Helm's JSON functions replace Sprig's: errors become values, not failures.
	funcs["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	funcs["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["fromJsonArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	funcs["fromYamlArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := yaml.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, fmt.Errorf(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, fmt.Errorf(msg)
		}
		return v, nil
	}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		var buf strings.Builder
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		parsed, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf strings.Builder
		err = parsed.Execute(&buf, data)
		return buf.String(), err
	}
	t.Funcs(funcs)
	for _, name := range names {
		_, err := t.New(name).Parse(sources[name])
		must(err)
	}
	out := map[string]string{}
	for _, name := range names {
		if strings.HasPrefix(filepath.Base(name), "_") {
			continue
		}
		var buf strings.Builder
		must(t.ExecuteTemplate(&buf, name, data))
		out[name] = strings.ReplaceAll(buf.String(), "<no value>", "")
	}
	return out
}

func main() {
	chart, iterations := os.Args[1], 30
	if len(os.Args) > 2 {
		n, err := strconv.Atoi(os.Args[2])
		must(err)
		iterations = n
	}
	valuesText, err := os.ReadFile(filepath.Join(chart, "values.yaml"))
	must(err)
	values := map[string]interface{}{}
	must(yaml.Unmarshal(valuesText, &values))
	chartText, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	must(err)
	meta := map[string]interface{}{}
	must(yaml.Unmarshal(chartText, &meta))
	chartName := fmt.Sprint(meta["name"])
	sources := map[string]string{}
	var names []string
	files, err := os.ReadDir(filepath.Join(chart, "templates"))
	must(err)
	for _, f := range files {
		text, err := os.ReadFile(filepath.Join(chart, "templates", f.Name()))
		must(err)
		name := chartName + "/templates/" + f.Name()
		sources[name] = string(text)
		names = append(names, name)
	}
	// Helm's parse order (engine.sortTemplates): deeper paths first, then reverse byte order.
	sort.Slice(names, func(i, j int) bool {
		a, b := strings.Count(names[i], "/"), strings.Count(names[j], "/")
		if a != b {
			return a > b
		}
		return names[i] > names[j]
	})
	data := map[string]interface{}{
		"Values":  values,
		"Release": map[string]interface{}{"Name": "bench", "Namespace": "default", "Service": "Helm", "IsInstall": true, "Revision": 1},
		"Chart":   map[string]interface{}{"Name": chartName, "Version": meta["version"], "AppVersion": meta["appVersion"]},
	}
	var last map[string]string
	var times []time.Duration
	for i := 0; i < iterations+3; i++ {
		start := time.Now()
		last = render(names, sources, data)
		heads(last)
		if i >= 3 {
			times = append(times, time.Since(start))
		}
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	if len(times) > 0 {
		fmt.Printf("median_us %d\n", times[len(times)/2].Microseconds())
	}
	if len(os.Args) > 3 {
		var b strings.Builder
		for _, name := range names {
			if text, ok := last[name]; ok {
				b.WriteString("---\n# Source: " + name + "\n" + text + "\n")
			}
		}
		must(os.WriteFile(os.Args[3], []byte(b.String()), 0o644))
	}
}
