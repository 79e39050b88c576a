#!/bin/bash
# git on the NFS mount: init, add, commit, status, log, fsck, gc, branches.
# Identity: GIT_AUTHOR_*/GIT_COMMITTER_* come from the environment (--env).
. "$GUEST_LIB"
export GIT_CONFIG_NOSYSTEM=1

s_init_commit() {
	git init -q -b main repo
	cd repo
	for d in 1 2 3 4 5; do
		mkdir "src$d"
		for f in $(seq 1 20); do printf 'file %s/%s\n%s\n' "$d" "$f" "$(seq 1 "$f")" >"src$d/f$f.txt"; done
	done
	printf '# demo\n' >README.md
	printf '#!/bin/sh\necho hi\n' >run.sh
	chmod 755 run.sh
	ln -s README.md link.md
	git add -A
	git commit -q -m "first commit"
	eq "$(git status --porcelain | wc -l)" 0 "clean after first commit"
	eq "$(git ls-files | wc -l)" 103 "tracked files"
}

s_modify_commit() {
	cd repo
	echo change >>src1/f1.txt
	git rm -q src2/f2.txt
	git mv src3/f3.txt src3/moved.txt
	echo new >new.txt
	eq "$(git status --porcelain | sort | tr '\n' '|')" " M src1/f1.txt|?? new.txt|D  src2/f2.txt|R  src3/f3.txt -> src3/moved.txt|" "status"
	git add -A
	git commit -q -m "second commit"
	eq "$(git status --porcelain | wc -l)" 0 "clean after second commit"
	eq "$(git log --oneline | wc -l)" 2 "log length"
	eq "$(git log -1 --format=%s)" "second commit"
	eq "$(git log -1 --format=%an)" "$GIT_AUTHOR_NAME"
	eq "$(git diff --stat HEAD~1 | tail -n 1 | sed 's/^ *//')" "4 files changed, 2 insertions(+), 3 deletions(-)"
}

s_fsck() {
	cd repo
	git fsck --full --strict 2>&1 | tee "$TMPDIR/fsck.out"
	[ ! -s "$TMPDIR/fsck.out" ] || ! grep -qiE 'error|missing|corrupt|broken' "$TMPDIR/fsck.out"
	drop_caches
	git fsck --full --strict
	eq "$(git status --porcelain | wc -l)" 0 "clean after drop_caches"
}

s_gc_branches() {
	cd repo
	git gc -q --prune=now
	eq "$(find .git/objects -type f -path '*/objects/??/*' | wc -l)" 0 "no loose objects after gc"
	git fsck --full --strict
	git checkout -q -b feature HEAD~1
	[ -e src2/f2.txt ]
	[ ! -e new.txt ]
	eq "$(tail -n 1 src1/f1.txt)" 1
	echo feature >feature.txt
	git add feature.txt
	git commit -q -m feature
	git checkout -q main
	[ ! -e feature.txt ]
	git merge -q --no-edit feature
	eq "$(cat feature.txt)" feature
	eq "$(git log --oneline | wc -l)" 4 "log after merge"
	drop_caches
	git fsck --full --strict
	eq "$(git status --porcelain | wc -l)" 0 "clean at the end"
	# a clone from the NFS repo to the NFS mount
	cd ..
	git clone -q repo clone
	eq "$(git -C clone log --oneline | wc -l)" 4 "clone log"
	cmp repo/src1/f1.txt clone/src1/f1.txt
}

step init_commit s_init_commit
step modify_commit s_modify_commit
step fsck s_fsck
step gc_branches s_gc_branches
finish
