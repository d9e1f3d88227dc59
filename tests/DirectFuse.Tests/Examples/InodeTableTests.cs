using DirectFuse.Examples.Loopback;

namespace DirectFuse.Tests.Examples;

/// <summary>The loopback's inode table and its (dev, ino) index, against a Dictionary as the reference.</summary>
public sealed class InodeTableTests
{
    [Fact]
    public void The_key_index_agrees_with_a_dictionary_through_growth_collisions_removal_and_shrinking()
    {
        var index = new InodeKeyIndex();
        var reference = new Dictionary<(ulong, ulong), Inode>();
        var random = new Random(14);
        ulong id = 2;
        for (int step = 0; step < 200_000; step++)
        {
            // Few devices, consecutive and clustered inode numbers: long probe runs and wrap-around at the end.
            ulong dev = (ulong)random.Next(3);
            ulong ino = (ulong)random.Next(step < 100_000 ? 20_000 : 300);
            var key = (dev, ino);
            if (random.Next(3) == 0 && reference.TryGetValue(key, out var known))
            {
                index.Remove(dev, ino, known);
                reference.Remove(key);
            }
            else if (!reference.ContainsKey(key))
            {
                var inode = new Inode(id++, dev, ino, -1, 0);
                index.Set(dev, ino, inode);
                reference[key] = inode;
            }
            if (step % 997 == 0)
            {
                Assert.Equal(reference.Count, index.Count);
                foreach (var (k, v) in reference) Assert.Same(v, index.Find(k.Item1, k.Item2));
            }
            Assert.Equal(reference.GetValueOrDefault(key), index.Find(dev, ino));
        }
        // Removing what is no longer mapped to that inode (replaced by a newer one) leaves the key alone.
        var first = new Inode(id++, 7, 7, -1, 0);
        var second = new Inode(id++, 7, 7, -1, 0);
        index.Set(7, 7, first);
        index.Set(7, 7, second);
        index.Remove(7, 7, first);
        Assert.Same(second, index.Find(7, 7));
    }

    [Fact]
    public void Node_ids_of_forgotten_inodes_are_not_handed_out_again_and_unknown_ids_find_nothing()
    {
        var table = new InodeTable(new Inode(1, 1, 1, -1, 0), descriptorBudget: 1_000_000, handles: null);
        var seen = new HashSet<ulong>();
        for (int round = 0; round < 50; round++)
        {
            var live = new List<Inode>();
            for (ulong ino = 2; ino < 200; ino++)
            {
                // close(-1) of the surplus descriptor fails harmlessly; the tests own no descriptor here.
                var inode = table.AddLookup(1, ino + (ulong)round * 1000, -1, 0, null);
                Assert.True(seen.Add(inode.Id));
                Assert.Same(inode, table.Get(inode.Id));
                live.Add(inode);
            }
            Assert.Equal(199, table.Count);
            foreach (var inode in live)
            {
                Assert.Same(inode, table.AddLookup(inode.Dev, inode.Ino, -1, 0, null)); // a second reference
                table.Forget(inode.Id, 1);
                Assert.Same(inode, table.Get(inode.Id));
                table.Forget(inode.Id, 1);
                Assert.Null(table.Get(inode.Id));
                table.Forget(inode.Id, 1); // the kernel never does this; harmless
            }
            Assert.Equal(1, table.Count);
        }
        Assert.Null(table.Get(0));
        Assert.Null(table.Get(ulong.MaxValue));
        Assert.Same(table.Root, table.Get(1));
    }
}
