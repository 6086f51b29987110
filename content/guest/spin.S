/*
 * A guest that misbehaves on purpose: it prints one line and then loops
 * forever without HLT and without I/O, so the vCPU never leaves KVM_RUN by
 * itself. The micro-VMM's watchdog must notice, kick the vCPU out of the
 * guest and stop the VM. Loaded at 0x7c00 in 16-bit real mode.
 */

        .code16
        .set COM1_DATA, 0x3f8

        .text
        .globl start
start:
        cli
        xor     %ax, %ax
        mov     %ax, %ds
        mov     $message, %si
        mov     $COM1_DATA, %dx
1:      lodsb
        test    %al, %al
        jz      spin
        out     %al, %dx
        jmp     1b
spin:
        jmp     spin

message:        .asciz "lab spin guest: looping forever without HLT\r\n"
