package main

import (
	"context"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// ANSI sequences of top's live view.
const (
	ansiAltScreen   = "\x1b[?1049h\x1b[?25l" // alternate screen, cursor hidden
	ansiMainScreen  = "\x1b[?25h\x1b[?1049l" // cursor shown, main screen back
	ansiHome        = "\x1b[H"
	ansiClearEOL    = "\x1b[K"
	ansiClearBelow  = "\x1b[J"
	defaultTTYWidth = 80
)

// screen is the terminal top draws on in place, and its keyboard when stdin
// is a terminal too.
type screen struct {
	out   *os.File
	in    int           // stdin's fd, -1 when it is not a terminal
	saved *unix.Termios // stdin's settings before cbreak, restored by close
}

// openScreen switches out to the alternate screen and stdin (when a
// terminal) to cbreak mode: keys arrive unbuffered and unechoed; Ctrl-C
// still sends SIGINT. close restores both.
func openScreen(out *os.File) *screen {
	s := &screen{out: out, in: -1}
	fd := int(os.Stdin.Fd())
	if t, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		raw := *t
		raw.Lflag &^= unix.ICANON | unix.ECHO
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if unix.IoctlSetTermios(fd, unix.TCSETS, &raw) == nil {
			s.in, s.saved = fd, t
		}
	}
	_, _ = io.WriteString(out, ansiAltScreen)
	return s
}

// close gives the terminal back as it was.
func (s *screen) close() {
	_, _ = io.WriteString(s.out, ansiMainScreen)
	if s.saved != nil {
		_ = unix.IoctlSetTermios(s.in, unix.TCSETS, s.saved)
	}
}

// size is the terminal's width and height in cells.
func (s *screen) size() (int, int) {
	ws, err := unix.IoctlGetWinsize(int(s.out.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Col == 0 || ws.Row == 0 {
		return defaultTTYWidth, 24
	}
	return int(ws.Col), int(ws.Row)
}

// draw replaces the screen's content with lines (at most its height).
func (s *screen) draw(lines []string) {
	var b strings.Builder
	b.WriteString(ansiHome)
	for i, l := range lines {
		if i > 0 {
			b.WriteString("\r\n")
		}
		b.WriteString(l)
		b.WriteString(ansiClearEOL)
	}
	b.WriteString(ansiClearBelow)
	_, _ = io.WriteString(s.out, b.String())
}

// readKeys sends the keys typed on the terminal to keys until ctx is done.
// It polls, so that it returns promptly.
func (s *screen) readKeys(ctx context.Context, keys chan<- byte) {
	if s.in < 0 {
		return
	}
	buf := make([]byte, 16)
	for ctx.Err() == nil {
		fds := []unix.PollFd{{Fd: int32(s.in), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 100)
		if err != nil && err != unix.EINTR {
			return
		}
		if n <= 0 || fds[0].Revents&unix.POLLIN == 0 {
			if fds[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0 {
				return
			}
			continue
		}
		m, err := unix.Read(s.in, buf)
		if err != nil || m == 0 {
			return
		}
		for _, k := range buf[:m] {
			select {
			case keys <- k:
			case <-ctx.Done():
				return
			}
		}
	}
}
