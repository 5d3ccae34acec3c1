package vmitest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// HMP runs a human monitor command (such as "info registers" or
// "gva2gpa ADDR") over the QMP socket at sock and returns its output:
// tests check introspection against what QEMU itself says.
func HMP(sock, command string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	if _, err := r.ReadBytes('\n'); err != nil { // the greeting
		return "", err
	}
	var out string
	for _, cmd := range []map[string]any{
		{"execute": "qmp_capabilities"},
		{"execute": "human-monitor-command", "arguments": map[string]string{"command-line": command}},
	} {
		if err := json.NewEncoder(c).Encode(cmd); err != nil {
			return "", err
		}
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return "", err
			}
			var reply struct {
				Return json.RawMessage
				Error  *struct{ Desc string }
				Event  string
			}
			if err := json.Unmarshal(line, &reply); err != nil {
				return "", err
			}
			if reply.Event != "" {
				continue
			}
			if reply.Error != nil {
				return "", fmt.Errorf("%s: %s", command, reply.Error.Desc)
			}
			json.Unmarshal(reply.Return, &out)
			break
		}
	}
	return out, nil
}
