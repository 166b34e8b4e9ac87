/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The two entry points that run one x87 or MMX/SSE instruction stub on the
 * host CPU (x86-64 hosts only; see jit/x86/fpu.h for the contract).
 */
#if defined(__x86_64__)
        .text

/* uint64_t x86_host_x87(uint8_t *image, void *memory, const void *stub,
 *                       uint64_t rflags): @rflags (arithmetic flags) are
 * loaded for FCMOVcc. The image's FCW may leave exceptions unmasked: the
 * stub then only sets ES, and the host's #MF never comes, as FNSAVE does
 * not wait and reinitializes the x87 (no FP instruction runs in between). */
        .globl  x86_host_x87
        .type   x86_host_x87, @function
x86_host_x87:
        push    %rbx
        push    %r12
        sub     $8, %rsp
        mov     %rdi, %rbx
        frstor  (%rbx)
        mov     %rsi, %rdi
        and     $0x8d5, %rcx
        push    %rcx
        popfq
        call    *%rdx
        pushfq
        pop     %r12
        fnsave  (%rbx)          /* also leaves the host x87 initialized */
        mov     %r12, %rax
        add     $8, %rsp
        pop     %r12
        pop     %rbx
        ret
        .size   x86_host_x87, . - x86_host_x87

/* void x86_host_simd(struct x86_host_simd *ctx, const void *stub) */
        .globl  x86_host_simd
        .type   x86_host_simd, @function
x86_host_simd:
        push    %rbx
        sub     $16, %rsp
        mov     %rdi, %rbx
        stmxcsr (%rsp)
        ldmxcsr 64(%rbx)
        movdqu  (%rbx), %xmm0
        movdqu  16(%rbx), %xmm1
        cmpl    $0, 68(%rbx)
        je      1f
        movq    32(%rbx), %mm0
        movq    40(%rbx), %mm1
1:      movdqu  72(%rbx), %xmm2
        mov     48(%rbx), %rax
        mov     88(%rbx), %rcx
        mov     96(%rbx), %rdx
        call    *%rsi
        pushfq
        popq    56(%rbx)
        mov     %rax, 48(%rbx)
        mov     %rcx, 88(%rbx)
        movdqu  %xmm0, (%rbx)
        movdqu  %xmm2, 72(%rbx)
        stmxcsr 64(%rbx)
        ldmxcsr (%rsp)
        cmpl    $0, 68(%rbx)
        je      2f
        movq    %mm0, 32(%rbx)
        emms
2:      add     $16, %rsp
        pop     %rbx
        ret
        .size   x86_host_simd, . - x86_host_simd
#endif
        .section .note.GNU-stack, "", @progbits
