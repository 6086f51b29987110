//! KVM engine: the lab's own micro-VMM on kvm-ioctls and its teaching guest.
