import * as $rt from "ppp2p/runtime";
// Class methods: instance (`this` in an arrow), static, private, override and super calls.
import { checkpoint } from 'ppp2p/thread';
class Counter$add$Frame extends $rt.Frame {
    static id = "classes.ts#Counter.add";
    static layout = "c65ab396f224a17a";
    static fields = ["n", "self"];
    static sites = [0, 8];
    static file = "classes.ts";
    static fn;
}
$rt.registerFrame(Counter$add$Frame);
class Counter$static$create$Frame extends $rt.Frame {
    static id = "classes.ts#Counter.static.create";
    static layout = "9cb4f9851da105e6";
    static fields = [];
    static sites = [0, 14];
    static file = "classes.ts";
    static fn;
}
$rt.registerFrame(Counter$static$create$Frame);
class Counter$_secret$Frame extends $rt.Frame {
    static id = "classes.ts#Counter.#secret";
    static layout = "a7e2956b4a32d128";
    static fields = ["self"];
    static sites = [0, 19];
    static file = "classes.ts";
    static fn;
}
$rt.registerFrame(Counter$_secret$Frame);
class Counter$reveal$Frame extends $rt.Frame {
    static id = "classes.ts#Counter.reveal";
    static layout = "124bf65013649e14";
    static fields = ["self"];
    static sites = [0, 24];
    static file = "classes.ts";
    static fn;
}
$rt.registerFrame(Counter$reveal$Frame);
class Doubler$add$Frame extends $rt.Frame {
    static id = "classes.ts#Doubler.add";
    static layout = "7c1d9cda742bb464";
    static fields = ["n", "self"];
    static sites = [0, 30];
    static file = "classes.ts";
    static fn;
}
$rt.registerFrame(Doubler$add$Frame);
export class Counter {
    count = 0;
    async add(n) {
        const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(Counter$add$Frame);
        let $pc = $f.pc;
        if ($pc !== 0) {
            n = $f.n;
        }
        if ($pc === 1) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 1;
            $f.n = n;
            $f.self = this;
            await $t.snapshot($d);
        }
        const bump = () => (this.count += n);
        return bump();
    }
    static async create() {
        const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(Counter$static$create$Frame);
        let $pc = $f.pc;
        if ($pc === 1) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 1;
            await $t.snapshot($d);
        }
        return new this();
    }
    async #secret() {
        const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(Counter$_secret$Frame);
        let $pc = $f.pc;
        if ($pc === 1) {
            $pc = 0;
        }
        else if ($t.due()) {
            $f.pc = 1;
            $f.self = this;
            await $t.snapshot($d);
        }
        return this.count;
    }
    async reveal() {
        const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(Counter$reveal$Frame);
        let $pc = $f.pc;
        if ($pc === 1) {
            $pc = 0;
            $t.depth = $d + 1;
            return await $t.resumeCall();
        }
        else {
            $t.depth = $d + 1;
            $f.pc = 1;
            $f.self = this;
            return await $t.called(this.#secret());
        }
    }
    static {
        Counter$_secret$Frame.fn = function () { return this.#secret(); };
    }
}
Counter$add$Frame.fn = Counter.prototype.add;
Counter$static$create$Frame.fn = function () { return Counter.create.call(this ?? Counter); };
Counter$reveal$Frame.fn = Counter.prototype.reveal;
$rt.registerClass(Counter, "classes.ts#Counter", { privateState: "methods" });
export class Doubler extends Counter {
    async add(n) {
        const $t = $rt.currentThread(), $d = $t.depth, $f = $t.enter(Doubler$add$Frame);
        let $pc = $f.pc;
        if ($pc !== 0) {
            n = $f.n;
        }
        let base;
        if ($pc === 1) {
            $pc = 0;
            $t.depth = $d + 1;
            base = await $t.resumeCall();
        }
        else {
            $t.depth = $d + 1;
            $f.pc = 1;
            $f.n = n;
            $f.self = this;
            base = await $t.called(super.add(n));
        }
        return base * 2;
    }
}
Doubler$add$Frame.fn = Doubler.prototype.add;
$rt.registerClass(Doubler, "classes.ts#Doubler");
//# sourceMappingURL=classes.js.map