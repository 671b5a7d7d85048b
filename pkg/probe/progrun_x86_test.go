//go:build 386 || amd64

package probe

// setRegs puts r where a uprobe on amd64 finds it (struct pt_regs).
func setRegs(in *bpftestInput, r regs) {
	in.Regs.Rax, in.Regs.Rbx, in.Regs.Rcx, in.Regs.Rdi = r.args[0], r.args[1], r.args[2], r.args[3]
	in.Regs.Rdx = r.ctxt
	in.Regs.R14 = r.g
	in.Regs.Rip = r.ip
	in.Regs.Rsp = r.sp
	in.Regs.Rbp = r.fp
}
