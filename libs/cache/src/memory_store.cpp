#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <fairway/cache/memory_store.hpp>
#include <fairway/core/adaptive_mutex.hpp>
#include <fairway/core/random.hpp>

namespace fairway::cache {
namespace {

// The key hash for the index and the shards: 8 bytes per step, seeded (MemoryStoreConfig::
// hashSeed), finished with the SplitMix64 mixer.
//
// The last 1–7 bytes are read with whole loads (the key's last 8 bytes, shifted; a key shorter
// than 8 with overlapping smaller loads), never copied byte by byte into a word on the stack: a
// word load of bytes just stored one at a time cannot be forwarded from the store buffer and waits
// for those stores to retire — behind the previous lookup's cache misses — so each lookup's hash,
// and with it its own first miss, waited for the lookup before. Back-to-back hits at 1M entries
// took 221–235 ns with the byte copy and 147–157 ns without (docs/benchmarks.md).
std::uint64_t hashOf(std::string_view key, std::uint64_t seed) {
  std::uint64_t h = seed ^ (0x9e3779b97f4a7c15ULL * (key.size() + 1));
  const char* p = key.data();
  std::size_t n = key.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t w;
    if (key.size() >= 8) {
      // The n bytes left, where copying them into a zeroed word would have put them.
      std::memcpy(&w, p + n - 8, 8);
      w = std::endian::native == std::endian::little ? w >> (64 - 8 * n) : w << (64 - 8 * n);
    } else if (n >= 4) {
      std::uint32_t first;
      std::uint32_t last;
      std::memcpy(&first, p, 4);
      std::memcpy(&last, p + n - 4, 4);
      w = first | (std::uint64_t{last} << 32);
    } else {
      const auto byte = [p](std::size_t i) {
        return std::uint64_t{static_cast<unsigned char>(p[i])};
      };
      w = byte(0) | (byte(n / 2) << 8) | (byte(n - 1) << 16);
    }
    h = (h ^ w) * 0x94d049bb133111ebULL;
  }
  return core::Random::mix(h);
}

// A node is one allocation of 128 bytes (with libstdc++; plus the key beyond kHead bytes), laid
// out so that a hit reads only its first 128 bytes, at addresses it knows as soon as the index
// slot gives the node's (no pointer to chase inside the node):
//
//   bytes  0–63:  the control block's reference counts (std::allocate_shared puts them first),
//                 the node's hot header — key size, variant count, S3-FIFO counter, flags — and
//                 the key's first kHead bytes;
//   bytes 64–127: the shard's reference (`self`, copied for the reader) and the queue links;
//   after:        the key's remaining bytes, if any.
//
// allocate_shared keeps a copy of its allocator in the control block unless the allocator is
// empty, and a stateful one would push the header back by its size; so the allocator is empty
// and learns the extra room for the key from `tlNodeRequest`, which Node::make() sets around the
// call. (Aligning nodes to cache lines was tried: no measurable gain, 8% more memory.)

struct NodeRequest;
thread_local const NodeRequest* tlNodeRequest = nullptr;

// The room wanted after the control block, for the next node allocation on this thread.
struct NodeRequest {
  explicit NodeRequest(std::size_t extraBytes) : extra(extraBytes) { tlNodeRequest = this; }
  ~NodeRequest() { tlNodeRequest = nullptr; }
  NodeRequest(const NodeRequest&) = delete;
  NodeRequest& operator=(const NodeRequest&) = delete;

  const std::size_t extra;
};

template <typename T>
struct NodeAllocator {
  using value_type = T;

  NodeAllocator() = default;
  template <typename U>
  NodeAllocator(const NodeAllocator<U>&) {}

  T* allocate(std::size_t n) {
    const std::size_t extra = tlNodeRequest != nullptr ? tlNodeRequest->extra : 0;
    return static_cast<T*>(::operator new(n * sizeof(T) + extra));
  }
  void deallocate(T* p, std::size_t) { ::operator delete(p); }
  friend bool operator==(const NodeAllocator&, const NodeAllocator&) { return true; }
};

// One key: its variants and its place in the eviction queues. The variants handed out alias the
// node, so a reader's copy bumps the count next to the key it just compared.
//
// `variants` never changes once the node is published (readers hold it without the lock); a new
// variant or version makes a new node that takes the old one's place. Everything else is the
// shard's, under its lock.
//
// The node does not keep its key's hash (the index slot has it): the few paths that need it
// without the caller's — eviction, purges — hash the key again.
struct Node {
  static constexpr std::size_t kHead = 36;  // key bytes in the first 64

  explicit Node(Variants v) : variants(std::move(v)) {}

  // Hot: what a hit reads (after the control block's 16 bytes).
  std::uint32_t keySize = 0;
  std::uint32_t count = 0;  // variants
  std::uint8_t freq = 0;    // S3-FIFO: hits since insertion or the last pass, capped at 3
  bool inMain = false;      // S3-FIFO: in the main queue (else the small one)
  bool tagged = false;      // listed in the shard's tag index
  char head[kHead];         // the key's first bytes
  // Read by a hit: `self`. The rest is the shard's bookkeeping.
  std::shared_ptr<Node> self;  // the shard's reference, released when the node leaves
  const Variants variants;
  Node* prev = nullptr;   // towards the head (newer)
  Node* next = nullptr;   // towards the tail (next victim)
  std::size_t bytes = 0;  // sum of the variants' charges
  // The key's bytes from kHead on follow the node (inside the allocation: the node ends no later
  // than the control block, and the allocation has `extra` bytes after that).

  const char* rest() const { return reinterpret_cast<const char*>(this + 1); }
  char* rest() { return reinterpret_cast<char*>(this + 1); }

  bool keyEquals(std::string_view key) const {
    if (key.size() != keySize) {
      return false;
    }
    if (keySize <= kHead) {
      return std::memcmp(head, key.data(), keySize) == 0;
    }
    return std::memcmp(head, key.data(), kHead) == 0 &&
           std::memcmp(rest(), key.data() + kHead, keySize - kHead) == 0;
  }

  bool keyStartsWith(std::string_view prefix) const {
    if (prefix.size() > keySize) {
      return false;
    }
    const std::size_t inHead = std::min(prefix.size(), kHead);
    return std::memcmp(head, prefix.data(), inHead) == 0 &&
           std::memcmp(rest(), prefix.data() + inHead, prefix.size() - inHead) == 0;
  }

  std::string key() const {
    std::string k(head, std::min<std::size_t>(keySize, kHead));
    if (keySize > kHead) {
      k.append(rest(), keySize - kHead);
    }
    return k;
  }

  static Node* make(std::string_view key, Variants variants) {
    const std::size_t restSize = key.size() > kHead ? key.size() - kHead : 0;
    std::shared_ptr<Node> node;
    {
      const NodeRequest request(restSize);
      node = std::allocate_shared<Node>(NodeAllocator<Node>(), std::move(variants));
    }
    node->keySize = static_cast<std::uint32_t>(key.size());
    std::memcpy(node->head, key.data(), std::min(key.size(), kHead));
    if (restSize > 0) {
      std::memcpy(node->rest(), key.data() + kHead, restSize);
    }
    node->count = static_cast<std::uint32_t>(node->variants.size());
    for (const EntryPtr& e : node->variants) {
      node->bytes += e->charge();
    }
    Node* raw = node.get();
    raw->self = std::move(node);
    return raw;
  }

  // The variants, sharing the node's lifetime.
  VariantsPtr share() const { return VariantsPtr(self, &variants); }
  // Gives up the shard's reference; the node lives on while readers hold its variants.
  VariantsPtr release() { return VariantsPtr(std::move(self), &variants); }
};

// An intrusive FIFO / LRU list: head is the newest, tail the next victim.
struct Queue {
  Node* head = nullptr;
  Node* tail = nullptr;
  std::size_t entries = 0;
  std::size_t bytes = 0;

  void pushFront(Node* n) {
    n->prev = nullptr;
    n->next = head;
    if (head != nullptr) {
      head->prev = n;
    } else {
      tail = n;
    }
    head = n;
    entries += n->count;
    bytes += n->bytes;
  }
  void unlink(Node* n) {
    (n->prev != nullptr ? n->prev->next : head) = n->next;
    (n->next != nullptr ? n->next->prev : tail) = n->prev;
    n->prev = n->next = nullptr;
    entries -= n->count;
    bytes -= n->bytes;
  }
  // `fresh` takes `old`'s place in the queue.
  void replaceInPlace(Node* old, Node* fresh) {
    fresh->prev = old->prev;
    fresh->next = old->next;
    (old->prev != nullptr ? old->prev->next : head) = fresh;
    (old->next != nullptr ? old->next->prev : tail) = fresh;
    old->prev = old->next = nullptr;
    entries = entries - old->count + fresh->count;
    bytes = bytes - old->bytes + fresh->bytes;
  }
  bool empty() const { return head == nullptr; }
};

struct Slot {
  std::uint64_t hash = 0;
  Node* node = nullptr;
};

// Asks the kernel to back [p, p + bytes) with transparent huge pages; a hint, ignored where
// unsupported.
void adviseHugePages(void* p, std::size_t bytes) {
#if defined(MADV_HUGEPAGE)
  (void)::madvise(p, bytes, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

// The index's slots, zeroed. One of 2 MiB or more is 2 MiB-aligned and asks for transparent huge
// pages: probes land anywhere in it, so with 4 KiB pages nearly every probe of a large index also
// misses the TLB (a page walk, under a hypervisor a two-level one).
class SlotArray {
 public:
  SlotArray() = default;
  explicit SlotArray(std::size_t count) : size_(count) {
    const std::size_t bytes = count * sizeof(Slot);
    if (huge()) {
      data_ = static_cast<Slot*>(::operator new (bytes, std::align_val_t{kHugePage}));
      adviseHugePages(data_, bytes);
    } else {
      data_ = static_cast<Slot*>(::operator new(bytes));
    }
    std::memset(static_cast<void*>(data_), 0, bytes);
  }
  SlotArray(SlotArray&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  SlotArray& operator=(SlotArray&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(size_, other.size_);
    return *this;
  }
  ~SlotArray() {
    if (data_ != nullptr && huge()) {
      ::operator delete (data_, std::align_val_t{kHugePage});
    } else {
      ::operator delete(data_);
    }
  }

  Slot& operator[](std::size_t i) { return data_[i]; }
  const Slot& operator[](std::size_t i) const { return data_[i]; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Slot* begin() const { return data_; }
  const Slot* end() const { return data_ + size_; }

 private:
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;
  bool huge() const { return size_ * sizeof(Slot) >= kHugePage; }

  Slot* data_ = nullptr;
  std::size_t size_ = 0;
};

// Open addressing with linear probing over (hash, node) slots; deletion shifts the run back, so
// there are no tombstones. Grows at 3/4 full.
class Index {
 public:
  Node* find(std::uint64_t hash, std::string_view key) const {
    if (slots_.empty()) {
      return nullptr;
    }
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.node == nullptr) {
        return nullptr;
      }
      if (s.hash == hash && s.node->keyEquals(key)) {
        return s.node;
      }
    }
  }

  // Precondition: no node with this key.
  void insert(std::uint64_t hash, Node* node) {
    if ((size_ + 1) * 4 > slots_.size() * 3) {
      grow();
    }
    place(hash, node);
    ++size_;
  }

  // `fresh` takes `old`'s slot (same key, whose hash is `hash`).
  void replace(std::uint64_t hash, Node* old, Node* fresh) {
    std::size_t i = hash & mask_;
    while (slots_[i].node != old) {
      i = (i + 1) & mask_;
    }
    slots_[i].node = fresh;
  }

  // `node`'s key hashes to `hash`.
  void erase(std::uint64_t hash, Node* node) {
    std::size_t i = hash & mask_;
    while (slots_[i].node != node) {
      i = (i + 1) & mask_;
    }
    for (std::size_t j = (i + 1) & mask_; slots_[j].node != nullptr; j = (j + 1) & mask_) {
      const std::size_t ideal = slots_[j].hash & mask_;
      // Slot j may move back to the hole at i unless its ideal slot lies in (i, j].
      if (((j - ideal) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Slot{};
    --size_;
  }

  template <typename F>
  void forEach(F&& f) const {
    for (const Slot& s : slots_) {
      if (s.node != nullptr) {
        f(s.node);
      }
    }
  }

  std::size_t size() const { return size_; }
  std::size_t capacity() const { return slots_.size(); }

 private:
  void place(std::uint64_t hash, Node* node) {
    std::size_t i = hash & mask_;
    while (slots_[i].node != nullptr) {
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{hash, node};
  }

  void grow() {
    const std::size_t capacity = std::max<std::size_t>(16, slots_.size() * 2);
    SlotArray old = std::exchange(slots_, SlotArray(capacity));
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.node != nullptr) {
        place(s.hash, s.node);
      }
    }
  }

  SlotArray slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// S3-FIFO's ghost queue: the hashes of keys recently evicted from the small queue, FIFO, at most
// `capacity`. A hash counts as present while its latest insertion is still in the ring.
class Ghost {
 public:
  void setCapacity(std::size_t capacity) { capacity_ = capacity; }

  void add(std::uint64_t hash) {
    if (capacity_ == 0) {
      return;
    }
    if (ring_.size() < capacity_) {
      ring_.push_back({hash, next_});
    } else {
      const Item old = ring_[head_];
      if (auto it = latest_.find(old.hash); it != latest_.end() && it->second == old.seq) {
        latest_.erase(it);
      }
      ring_[head_] = {hash, next_};
      head_ = (head_ + 1) % capacity_;
    }
    latest_[hash] = next_++;
  }

  // Whether `hash` is present; removes it if so.
  bool take(std::uint64_t hash) { return latest_.erase(hash) > 0; }

 private:
  struct Item {
    std::uint64_t hash;
    std::uint64_t seq;
  };
  std::vector<Item> ring_;
  std::size_t head_ = 0;  // oldest, once the ring is full
  std::size_t capacity_ = 0;
  std::uint64_t next_ = 0;
  std::unordered_map<std::uint64_t, std::uint64_t> latest_;
};

}  // namespace

class MemoryStore::Shard {
 public:
  void configure(std::size_t maxEntries, std::size_t maxBytes, const MemoryStoreConfig& config) {
    seed_ = config.hashSeed;
    maxEntries_ = maxEntries;
    maxBytes_ = maxBytes;
    maxVariants_ = config.maxVariants;
    policy_ = config.policy;
    smallEntries_ = std::max<std::size_t>(1, maxEntries / 10);
    smallBytes_ = std::max<std::size_t>(1, maxBytes / 10);
    ghost_.setCapacity(maxEntries - std::min(maxEntries - 1, smallEntries_));
  }

  ~Shard() {
    index_.forEach([](Node* n) { (void)n->release(); });
  }

  VariantsPtr lookup(std::uint64_t hash, std::string_view key) {
    std::lock_guard lock(mutex_);
    ++lookups_;
    Node* n = index_.find(hash, key);
    if (n == nullptr) {
      return nullptr;
    }
    ++hits_;
    touch(n);
    return n->share();
  }

  bool contains(std::uint64_t hash, std::string_view key) const {
    std::lock_guard lock(mutex_);
    return index_.find(hash, key) != nullptr;
  }

  Status insert(std::uint64_t hash, EntryPtr entry, std::vector<VariantsPtr>& graveyard) {
    const std::string_view key = entry->key();
    if (entry->charge() > maxBytes_) {
      std::lock_guard lock(mutex_);
      ++rejections_;
      return Error{ErrorCode::kTooLarge,
                   "cache entry '" + std::string(key) + "': " + std::to_string(entry->charge()) +
                       " bytes exceed the store's shard capacity of " + std::to_string(maxBytes_)};
    }
    std::lock_guard lock(mutex_);
    ++inserts_;
    Node* n = index_.find(hash, key);
    if (n == nullptr) {
      makeRoom(1, entry->charge(), nullptr, graveyard);
      n = Node::make(key, Variants{std::move(entry)});
      index_.insert(hash, n);
      admit(n);
      if (policy_ == EvictionPolicy::kS3Fifo && ghost_.take(hash)) {
        n->inMain = true;
      }
      queueOf(n).pushFront(n);
      return {};
    }
    // A new variant, or a new version of one: a new node replaces the old.
    Variants next;
    next.reserve(n->variants.size() + 1);
    for (const EntryPtr& e : n->variants) {
      if (e->secondaryKey() != entry->secondaryKey()) {
        next.push_back(e);
      }
    }
    next.push_back(std::move(entry));
    while (next.size() > maxVariants_) {
      next.erase(std::min_element(next.begin(), next.end(), [](const auto& a, const auto& b) {
        return a->responseTime() < b->responseTime();
      }));
    }
    std::size_t newBytes = 0;
    for (const EntryPtr& e : next) {
      newBytes += e->charge();
    }
    const std::size_t addEntries = next.size() > n->count ? next.size() - n->count : 0;
    const std::size_t addBytes = newBytes > n->bytes ? newBytes - n->bytes : 0;
    makeRoom(addEntries, addBytes, n, graveyard);
    replace(hash, n, Node::make(key, std::move(next)), true, graveyard);
    return {};
  }

  std::size_t erase(std::uint64_t hash, std::string_view key, std::vector<VariantsPtr>& graveyard) {
    std::lock_guard lock(mutex_);
    Node* n = index_.find(hash, key);
    if (n == nullptr) {
      return 0;
    }
    const std::size_t count = n->count;
    drop(hash, n, graveyard);
    return count;
  }

  std::size_t purgePrefix(std::string_view prefix, std::vector<VariantsPtr>& graveyard) {
    std::lock_guard lock(mutex_);
    std::vector<Node*> victims;
    index_.forEach([&](Node* n) {
      if (n->keyStartsWith(prefix)) {
        victims.push_back(n);
      }
    });
    std::size_t removed = 0;
    for (Node* n : victims) {
      removed += n->count;
      drop(hashOf(*n), n, graveyard);
    }
    return removed;
  }

  std::size_t purgeTag(const std::string& tag, std::vector<VariantsPtr>& graveyard) {
    std::lock_guard lock(mutex_);
    auto it = tags_.find(tag);
    if (it == tags_.end()) {
      return 0;
    }
    // Only the variants carrying the tag go; their siblings under the same key stay.
    std::vector<Node*> nodes(it->second.begin(), it->second.end());
    std::size_t removed = 0;
    for (Node* n : nodes) {
      Variants kept;
      for (const EntryPtr& e : n->variants) {
        if (!std::binary_search(e->tags().begin(), e->tags().end(), tag)) {
          kept.push_back(e);
        }
      }
      removed += n->count - kept.size();
      if (kept.empty()) {
        drop(hashOf(*n), n, graveyard);
      } else {
        const std::string key = n->key();
        replace(cache::hashOf(key, seed_), n, Node::make(key, std::move(kept)), false, graveyard);
      }
    }
    return removed;
  }

  void addStats(StoreStats& s) const {
    std::lock_guard lock(mutex_);
    s.lookups += lookups_;
    s.hits += hits_;
    s.inserts += inserts_;
    s.evictions += evictions_;
    s.rejections += rejections_;
    s.entries += entries_;
    s.bytes += bytes_;
  }

  void appendEvictionOrder(std::vector<std::string>& out) const {
    std::lock_guard lock(mutex_);
    for (const Queue* q : {&small_, &main_}) {
      for (const Node* n = q->tail; n != nullptr; n = n->prev) {
        out.emplace_back(n->key());
      }
    }
  }

 private:
  // The hash of a stored node's key, as MemoryStore computed it to place the node.
  std::uint64_t hashOf(const Node& n) const {
    if (n.keySize <= Node::kHead) {
      return cache::hashOf(std::string_view(n.head, n.keySize), seed_);
    }
    char buffer[256];
    if (n.keySize <= sizeof buffer) {
      std::memcpy(buffer, n.head, Node::kHead);
      std::memcpy(buffer + Node::kHead, n.rest(), n.keySize - Node::kHead);
      return cache::hashOf(std::string_view(buffer, n.keySize), seed_);
    }
    return cache::hashOf(n.key(), seed_);
  }

  // LRU keeps everything in `small_`, as its one list.
  Queue& queueOf(const Node* n) { return n->inMain ? main_ : small_; }

  void touch(Node* n) {
    if (policy_ == EvictionPolicy::kLru) {
      if (small_.head != n) {
        small_.unlink(n);
        small_.pushFront(n);
      }
    } else {
      n->freq += n->freq < 3 ? 1 : 0;  // branch-free: a hit's counter is hard to predict
    }
  }

  // Counts a node in the shard's totals and its tags in the tag index.
  void admit(Node* n) {
    entries_ += n->count;
    bytes_ += n->bytes;
    for (const EntryPtr& e : n->variants) {
      for (const std::string& tag : e->tags()) {
        tags_[tag].insert(n);
        n->tagged = true;
      }
    }
  }

  // The reverse of admit().
  void forget(Node* n) {
    entries_ -= n->count;
    bytes_ -= n->bytes;
    if (!n->tagged) {
      return;
    }
    for (const EntryPtr& e : n->variants) {
      for (const std::string& tag : e->tags()) {
        if (auto it = tags_.find(tag); it != tags_.end()) {
          it->second.erase(n);
          if (it->second.empty()) {
            tags_.erase(it);
          }
        }
      }
    }
    n->tagged = false;
  }

  // `fresh` (same key) takes `old`'s place in the index and its queue. A rewrite (`use`) counts as
  // a use: LRU moves it to the front, S3-FIFO bumps its counter; a purge keeps it where it was.
  void replace(std::uint64_t hash, Node* old, Node* fresh, bool use,
               std::vector<VariantsPtr>& graveyard) {
    index_.replace(hash, old, fresh);
    forget(old);
    admit(fresh);
    fresh->inMain = old->inMain;
    fresh->freq = old->freq;
    Queue& q = queueOf(old);
    q.replaceInPlace(old, fresh);
    if (use) {
      touch(fresh);
    }
    graveyard.push_back(old->release());
  }

  void drop(std::uint64_t hash, Node* n, std::vector<VariantsPtr>& graveyard) {
    queueOf(n).unlink(n);
    index_.erase(hash, n);
    forget(n);
    graveyard.push_back(n->release());
  }

  // Evicts until `addEntries` more entries and `addBytes` more bytes fit. `keep` (a node being
  // rewritten) is never the victim.
  void makeRoom(std::size_t addEntries, std::size_t addBytes, Node* keep,
                std::vector<VariantsPtr>& graveyard) {
    const std::size_t keepEntries = keep != nullptr ? keep->count : 0;
    while ((entries_ + addEntries > maxEntries_ || bytes_ + addBytes > maxBytes_) &&
           entries_ > keepEntries) {
      const Victim victim =
          policy_ == EvictionPolicy::kLru ? Victim{lruVictim(keep)} : s3fifoVictim(keep);
      const std::uint64_t hash = hashOf(*victim.node);
      if (victim.remember) {
        ghost_.add(hash);
      }
      evictions_ += victim.node->count;
      drop(hash, victim.node, graveyard);
    }
  }

  struct Victim {
    Node* node;
    bool remember = false;  // S3-FIFO: leaves the small queue unused, for the ghost
  };

  Node* lruVictim(Node* keep) {
    Node* victim = small_.tail;
    return victim == keep ? victim->prev : victim;
  }

  // S3-FIFO (Yang et al., SOSP 2023, Algorithm 1): evict from the small queue while it holds its
  // 10% share (or main is empty), else from main. A small-queue tail that was hit since insertion
  // moves to main instead (counter cleared); one that was not leaves, remembered by the ghost. A
  // main-queue tail that was hit goes back to main's head with its counter decremented. Every pass
  // evicts or spends a hit, so the loop ends.
  Victim s3fifoVictim(Node* keep) {
    for (;;) {
      bool fromSmall = !small_.empty() && (main_.empty() || small_.entries >= smallEntries_ ||
                                           small_.bytes >= smallBytes_);
      Queue* q = fromSmall ? &small_ : &main_;
      if (q->tail == keep) {
        if (keep->prev != nullptr) {  // a rewrite in progress: pass over it as if it were hit
          q->unlink(keep);
          q->pushFront(keep);
          continue;
        }
        // Alone in its queue; makeRoom() guarantees another node, so the other queue has it.
        fromSmall = !fromSmall;
        q = fromSmall ? &small_ : &main_;
      }
      Node* t = q->tail;
      if (t->freq == 0) {
        return {t, fromSmall};  // still linked: drop() unlinks it
      }
      q->unlink(t);
      if (fromSmall) {
        t->freq = 0;
        t->inMain = true;
      } else {
        --t->freq;
      }
      main_.pushFront(t);
    }
  }

  mutable core::AdaptiveMutex mutex_;
  Index index_;
  Queue small_;  // LRU: the list; S3-FIFO: the small queue
  Queue main_;   // S3-FIFO only
  Ghost ghost_;
  std::unordered_map<std::string, std::unordered_set<Node*>> tags_;

  std::size_t maxEntries_ = 1;
  std::size_t maxBytes_ = 1;
  std::size_t maxVariants_ = 1;
  std::size_t smallEntries_ = 1;
  std::size_t smallBytes_ = 1;
  EvictionPolicy policy_ = EvictionPolicy::kLru;
  std::uint64_t seed_ = 0;

  std::size_t entries_ = 0;
  std::size_t bytes_ = 0;
  std::uint64_t lookups_ = 0, hits_ = 0, inserts_ = 0, evictions_ = 0, rejections_ = 0;
};

MemoryStore::MemoryStore(const MemoryStoreConfig& config) : config_(config) {
  config_.maxEntries = std::max<std::size_t>(1, config_.maxEntries);
  config_.maxBytes = std::max<std::size_t>(1, config_.maxBytes);
  config_.maxVariants = std::max<std::size_t>(1, config_.maxVariants);
  shardCount_ = std::bit_ceil(std::max<std::size_t>(1, config_.shards));
  // Every shard gets at least one entry's room.
  while (shardCount_ > 1 && shardCount_ > config_.maxEntries) {
    shardCount_ /= 2;
  }
  config_.shards = shardCount_;
  shardShift_ = 64 - static_cast<unsigned>(std::countr_zero(shardCount_));
  shards_ = std::make_unique<Shard[]>(shardCount_);
  // The bounds are split exactly: the first `remainder` shards take one more.
  for (std::size_t i = 0; i < shardCount_; ++i) {
    const std::size_t entries =
        config_.maxEntries / shardCount_ + (i < config_.maxEntries % shardCount_ ? 1 : 0);
    const std::size_t bytes =
        config_.maxBytes / shardCount_ + (i < config_.maxBytes % shardCount_ ? 1 : 0);
    shards_[i].configure(std::max<std::size_t>(1, entries), std::max<std::size_t>(1, bytes),
                         config_);
  }
}

MemoryStore::~MemoryStore() = default;

inline MemoryStore::Shard& MemoryStore::shardFor(std::uint64_t hash) const {
  // The top bits pick the shard; the index probes with the low ones.
  return shards_[shardCount_ == 1 ? 0 : hash >> shardShift_];
}

Result<VariantsPtr> MemoryStore::lookup(std::string_view key) {
  const std::uint64_t hash = hashOf(key, config_.hashSeed);
  return shardFor(hash).lookup(hash, key);
}

Status MemoryStore::insert(EntryPtr entry) {
  assert(entry != nullptr);
  std::vector<VariantsPtr> graveyard;  // released after the shard lock
  const std::uint64_t hash = hashOf(entry->key(), config_.hashSeed);
  return shardFor(hash).insert(hash, std::move(entry), graveyard);
}

Result<std::size_t> MemoryStore::erase(std::string_view key) {
  std::vector<VariantsPtr> graveyard;
  const std::uint64_t hash = hashOf(key, config_.hashSeed);
  return shardFor(hash).erase(hash, key, graveyard);
}

Result<std::size_t> MemoryStore::purgePrefix(std::string_view prefix) {
  std::size_t removed = 0;
  for (std::size_t i = 0; i < shardCount_; ++i) {
    std::vector<VariantsPtr> graveyard;
    removed += shards_[i].purgePrefix(prefix, graveyard);
  }
  return removed;
}

Result<std::size_t> MemoryStore::purgeTag(std::string_view tag) {
  const std::string name(tag);
  std::size_t removed = 0;
  for (std::size_t i = 0; i < shardCount_; ++i) {
    std::vector<VariantsPtr> graveyard;
    removed += shards_[i].purgeTag(name, graveyard);
  }
  return removed;
}

StoreStats MemoryStore::stats() const {
  StoreStats s;
  for (std::size_t i = 0; i < shardCount_; ++i) {
    shards_[i].addStats(s);
  }
  return s;
}

bool MemoryStore::contains(std::string_view key) const {
  const std::uint64_t hash = hashOf(key, config_.hashSeed);
  return shardFor(hash).contains(hash, key);
}

std::vector<std::string> MemoryStore::evictionOrder() const {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < shardCount_; ++i) {
    shards_[i].appendEvictionOrder(out);
  }
  return out;
}

}  // namespace fairway::cache
