/*
 * The lab's teaching guest: a tiny 16-bit real-mode program that the
 * micro-VMM loads at 0x7c00 (where a PC BIOS would load a boot sector) and
 * starts with CS = DS = ES = SS = 0.
 *
 * It talks to the world only through port I/O, so every character a student
 * types and every character it prints is a VM exit they can watch:
 *
 *   0x3f8..0x3ff  COM1, a 16550 UART (data register and line status)
 *   0x70, 0x71    CMOS index and data registers (memory size)
 *   0x604         power-off port (write 0x2000, as on QEMU's PIIX4 ACPI)
 *
 * While it waits for a key it executes HLT. The VMM has no interrupt
 * controller for this guest: it simply resumes the vCPU when the student
 * types something, so an idle guest costs no CPU at all.
 *
 * Assembled with GNU as (AT&T syntax), linked at 0x7c00, then flattened
 * with objcopy. Keep it small: this machine's KVM may emulate every
 * instruction in software.
 */

        .code16
        .set COM1_DATA, 0x3f8
        .set COM1_LSR, 0x3fd
        .set LSR_DATA_READY, 0x01
        .set CMOS_INDEX, 0x70
        .set CMOS_DATA, 0x71
        .set CMOS_BASE_LOW, 0x15
        .set CMOS_EXT_LOW, 0x17
        .set POWER_OFF_PORT, 0x604
        .set POWER_OFF_VALUE, 0x2000
        .set LINE_MAX, 32

        .text
        .globl start
start:
        cli
        xor     %ax, %ax
        mov     %ax, %ds
        mov     %ax, %es
        mov     %ax, %ss
        mov     $0x7c00, %sp            /* the stack grows down below us */
        cld
        mov     $banner, %si
        call    puts

/* The command loop: prompt, read a line, run it, repeat. */
prompt:
        mov     $prompt_text, %si
        call    puts
        xor     %bx, %bx                /* bx = length of the line so far */
read_key:
        call    getc
        cmp     $'\r', %al
        je      end_of_line
        cmp     $'\n', %al
        je      end_of_line
        cmp     $0x7f, %al              /* DEL, what most terminals send */
        je      erase
        cmp     $0x08, %al              /* BS */
        je      erase
        cmp     $' ', %al               /* drop other control bytes */
        jb      read_key
        cmp     $LINE_MAX, %bx          /* a full line ignores extra keys */
        jae     read_key
        mov     %al, line(%bx)
        inc     %bx
        call    putc                    /* echo */
        jmp     read_key
erase:
        test    %bx, %bx
        jz      read_key
        dec     %bx
        mov     $erase_text, %si
        call    puts
        jmp     read_key
end_of_line:
        movb    $0, line(%bx)
        mov     $newline, %si
        call    puts
        call    run_command
        jmp     prompt

/* Looks the line up in the command table and calls its handler. */
run_command:
        cmpb    $0, line
        je      1f
        mov     $commands, %bp
2:      mov     (%bp), %di
        test    %di, %di
        jz      3f
        mov     $line, %si
        call    streq
        je      4f
        add     $4, %bp
        jmp     2b
4:      call    *2(%bp)
1:      ret
3:      mov     $unknown_text, %si
        call    puts
        mov     $line, %si
        call    puts
        mov     $unknown_hint, %si
        call    puts
        ret

cmd_help:
        mov     $help_text, %si
        jmp     puts

/* CPUID always exits to the hypervisor: KVM answers it, not the CPU. */
cmd_cpuid:
        xor     %eax, %eax
        cpuid
        mov     %ebx, vendor
        mov     %edx, vendor+4
        mov     %ecx, vendor+8
        push    %eax
        mov     $cpuid_text, %si
        call    puts
        mov     $vendor, %si
        call    puts
        mov     $leaf_text, %si
        call    puts
        pop     %eax
        call    put_hex32
        mov     $newline, %si
        jmp     puts

/* Memory sizes as the VMM's CMOS reports them, in KiB. */
cmd_mem:
        mov     $CMOS_BASE_LOW, %al
        call    cmos_word
        push    %ax
        mov     $base_text, %si
        call    puts
        pop     %ax
        call    put_dec
        mov     $CMOS_EXT_LOW, %al
        call    cmos_word
        push    %ax
        mov     $ext_text, %si
        call    puts
        pop     %ax
        call    put_dec
        mov     $kib_text, %si
        jmp     puts

/* The time-stamp counter, and how often the guest woke from HLT. */
cmd_ticks:
        rdtsc
        push    %eax
        mov     $tsc_text, %si
        call    puts
        mov     %edx, %eax
        call    put_hex32
        pop     %eax
        call    put_hex32_digits
        mov     $wakeups_text, %si
        call    puts
        mov     wakeups, %ax
        call    put_dec
        mov     $newline, %si
        jmp     puts

cmd_halt:
        mov     $halt_text, %si
        call    puts
        mov     $POWER_OFF_PORT, %dx
        mov     $POWER_OFF_VALUE, %ax
        out     %ax, %dx
1:      hlt                             /* only reached if the VMM ignored us */
        jmp     1b

/* al = first of two CMOS registers (low, high); returns their word in ax. */
cmos_word:
        mov     %al, %ah
        out     %al, $CMOS_INDEX
        in      $CMOS_DATA, %al
        xchg    %al, %ah                /* ah = low byte, al = index */
        inc     %al
        out     %al, $CMOS_INDEX
        in      $CMOS_DATA, %al
        xchg    %al, %ah                /* al = low, ah = high */
        ret

/* Waits for a byte from COM1 and returns it in al. Halts while idle. */
getc:
        push    %dx
1:      mov     $COM1_LSR, %dx
        in      %dx, %al
        test    $LSR_DATA_READY, %al
        jnz     2f
        hlt
        incw    wakeups
        jmp     1b
2:      mov     $COM1_DATA, %dx
        in      %dx, %al
        pop     %dx
        ret

/* Writes al to COM1. The VMM's UART is always ready to transmit, so this
 * skips the wait for the line status THRE bit that real hardware needs. */
putc:
        push    %dx
        mov     $COM1_DATA, %dx
        out     %al, %dx
        pop     %dx
        ret

/* Writes the zero-terminated string at si. */
puts:
        lodsb
        test    %al, %al
        jz      1f
        call    putc
        jmp     puts
1:      ret

/* Sets ZF when the zero-terminated strings at si and di are equal. */
streq:
        mov     (%si), %al
        cmp     (%di), %al
        jne     1f
        test    %al, %al
        jz      1f
        inc     %si
        inc     %di
        jmp     streq
1:      ret

/* Prints eax as "0x" and eight hex digits. */
put_hex32:
        push    %eax
        mov     $hex_prefix, %si
        call    puts
        pop     %eax
put_hex32_digits:
        mov     $8, %cx
1:      rol     $4, %eax
        push    %eax
        and     $0x0f, %al
        add     $'0', %al
        cmp     $'9', %al
        jbe     2f
        add     $('a' - '9' - 1), %al
2:      call    putc
        pop     %eax
        loop    1b
        ret

/* Prints ax in decimal. */
put_dec:
        mov     $10, %cx
        xor     %di, %di                /* number of digits pushed */
1:      xor     %dx, %dx
        div     %cx
        push    %dx
        inc     %di
        test    %ax, %ax
        jnz     1b
2:      pop     %ax
        add     $'0', %al
        call    putc
        dec     %di
        jnz     2b
        ret

commands:
        .word   name_help, cmd_help
        .word   name_cpuid, cmd_cpuid
        .word   name_mem, cmd_mem
        .word   name_ticks, cmd_ticks
        .word   name_halt, cmd_halt
        .word   0

name_help:      .asciz "help"
name_cpuid:     .asciz "cpuid"
name_mem:       .asciz "mem"
name_ticks:     .asciz "ticks"
name_halt:      .asciz "halt"

banner:         .ascii "lab teaching guest: 16-bit real mode, one vCPU, no BIOS\r\n"
                .asciz "Type help and press Enter.\r\n"
prompt_text:    .asciz "guest> "
newline:        .asciz "\r\n"
erase_text:     .asciz "\b \b"
unknown_text:   .asciz "unknown command: "
unknown_hint:   .asciz " (type help)\r\n"
help_text:      .ascii "help   this list\r\n"
                .ascii "cpuid  ask the CPU who made it (KVM answers)\r\n"
                .ascii "mem    memory size, read from the CMOS ports\r\n"
                .ascii "ticks  time-stamp counter and wake-ups from HLT\r\n"
                .asciz "halt   power the VM off\r\n"
cpuid_text:     .asciz "cpuid leaf 0: vendor "
leaf_text:      .asciz ", highest leaf "
hex_prefix:     .asciz "0x"
base_text:      .asciz "base memory "
ext_text:       .asciz " KiB, extended memory "
kib_text:       .asciz " KiB\r\n"
tsc_text:       .asciz "tsc "
wakeups_text:   .asciz ", wake-ups from hlt "
halt_text:      .asciz "powering off\r\n"

        .balign 2
wakeups:        .word 0
vendor:         .space 12
                .byte 0
line:           .space LINE_MAX + 1
